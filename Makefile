# cairn: two commands on a fresh Debian 12 machine (as root).
#   make run    installs what is missing, builds, runs the main job
#   make test   installs what is missing, builds, runs every test (ctest)
# Everything else is CMake; this file only wraps it.

BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=
ifeq ($(CI),true)
CMAKE_ARGS += -DCAIRN_WERROR=ON
endif
ifneq ($(SANITIZE),)
CMAKE_ARGS += -DCAIRN_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
endif

.PHONY: all deps configure build run test clean

all: build

deps:
	@sh cmake/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_ARGS)

configure: deps $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# The main job: a local training of the reference job (fmnist-mlp) on the
# default device, ending with its test accuracy and final model root.
run: build
	./$(BUILD)/cairn train --job fmnist-mlp

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD)

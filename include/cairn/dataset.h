/* cairn: Fashion-MNIST datasets from IDX files, validated (DESIGN.md 3, 4).
 *
 * A split ("train" or "test") is a pair of IDX files in one directory:
 *
 *   train-images-idx3-ubyte[.gz]  t10k-images-idx3-ubyte[.gz]
 *   train-labels-idx1-ubyte[.gz]  t10k-labels-idx1-ubyte[.gz]
 *
 * as Debian's dataset-fashion-mnist installs them under
 * CAIRN_DATASET_DEFAULT_DIR.  Each file may be gzip'd (it starts with the
 * gzip magic 1f 8b; concatenated gzip members are accepted) or plain.  The
 * name with .gz is tried first, then the name without it.
 *
 * IDX: a big-endian u32 magic (0x00000803 for u8 images in 3 dimensions,
 * 0x00000801 for u8 labels in 1 dimension), one big-endian u32 per
 * dimension, then the elements, row-major.  Images must be N x 28 x 28,
 * labels N, both with the same N in 1..CAIRN_DATASET_MAX_COUNT, each label
 * in 0..9, and no byte may follow the declared data (nor the gzip stream).
 *
 * Errors: functions return 0 or a negative CAIRN_E* code and write one line
 * into the caller's buffer err (errlen bytes, always NUL-terminated; err may
 * be NULL).  The line names the file, the value found and what is wanted,
 * e.g.
 *   dataset /d/train-images-idx3-ubyte.gz: bad IDX magic 0x00000801 (want
 *   0x00000803 for an image file) ...
 * with no "cairn: " prefix, so that the CLI can print "cairn: %s" or log it.
 * Nothing is logged on failure; the library does not print.
 *   CAIRN_ENOENT  a file is missing
 *   CAIRN_EPERM   a file cannot be opened for lack of permission
 *   CAIRN_EIO     a read failed
 *   CAIRN_EINVAL  bad argument (NULL, unknown split), or a path that is not
 *                 a regular file (a directory, a FIFO)
 *   CAIRN_EFORMAT malformed content: magic, dimensions, sizes, truncated or
 *                 corrupt gzip, trailing bytes, image and label counts differ
 *   CAIRN_ERANGE  a value out of range: a label outside 0..9, a count of 0 or
 *                 above CAIRN_DATASET_MAX_COUNT, a batch index >= count
 *   CAIRN_ENOMEM  out of memory
 *
 * Memory is bounded by the data actually present: buffers grow as bytes
 * arrive, never from a declared size alone, so a short file that declares
 * ten million images costs a few kilobytes before it is rejected.  The
 * labels are read first, and the image file's header must declare as
 * many, before any pixel is read.  A gzip'd file may not inflate to more
 * than 16 MiB plus 64 times its compressed bytes (CAIRN_EFORMAT): real
 * image data compresses less than 5 to 1, so a small file of zeros that
 * would inflate to gigabytes is refused as it inflates. */
#ifndef CAIRN_DATASET_H
#define CAIRN_DATASET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CAIRN_DATASET_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
#define CAIRN_DATASET_ROWS 28
#define CAIRN_DATASET_COLS 28
#define CAIRN_DATASET_PIXELS (CAIRN_DATASET_ROWS * CAIRN_DATASET_COLS)
#define CAIRN_DATASET_CLASSES 10
/* Largest sample count a file may declare (7.84 GB of pixels at most). */
#define CAIRN_DATASET_MAX_COUNT 10000000u

#define CAIRN_IDX_MAGIC_IMAGES 0x00000803u /* u8, 3 dimensions */
#define CAIRN_IDX_MAGIC_LABELS 0x00000801u /* u8, 1 dimension */

/* A loaded split.  Read-only for callers; freed by cairn_dataset_close().
 * images and labels are the raw bytes of the files' data sections, exactly
 * as stored (after gunzip): the input of the dataset root (attest layer). */
typedef struct cairn_dataset {
	uint32_t count; /* N samples */
	const uint8_t
	    *images; /* N x 28 x 28 pixels, row-major, N * 784 bytes */
	const uint8_t *labels; /* N labels, each in 0..9, N bytes */
} cairn_dataset;

/* Loads split "train" or "test" from dir (NULL: CAIRN_DATASET_DEFAULT_DIR).
 * On success *out is owned by the caller and freed by cairn_dataset_close();
 * on failure *out is NULL, nothing is left allocated, and err says why. */
int cairn_dataset_open(const char *dir, const char *split, cairn_dataset **out,
                       char *err, size_t errlen);

/* Loads a split from an explicit pair of IDX files (gzip'd or plain).
 * Ownership and errors as cairn_dataset_open(). */
int cairn_dataset_open_files(const char *images_path, const char *labels_path,
                             cairn_dataset **out, char *err, size_t errlen);

/* Frees a dataset and its buffers; NULL is a no-op. */
void cairn_dataset_close(cairn_dataset *ds);

/* The float value of a pixel: exactly (float)p / 255.0f, one correctly
 * rounded IEEE-754 binary32 division, so the same bits on every machine and
 * backend (0 -> 0.0f, 255 -> 1.0f). */
static inline float cairn_dataset_pixel(uint8_t p)
{
	return (float)p / 255.0f;
}

/* Gathers a batch: for b = 0..n-1, sample idx[b] goes to row b of x (row-
 * major [n x 784] floats, cairn_dataset_pixel() of each byte) and its label
 * to y[b].  x or y may be NULL to skip it.  Every index is checked first:
 * an index >= count gives CAIRN_ERANGE (err names its position and value)
 * and nothing is written.  The caller owns x and y. */
int cairn_dataset_gather(const cairn_dataset *ds, const uint32_t *idx, size_t n,
                         float *x, int32_t *y, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif

/* cairn: domain-separated BLAKE2b-256 hashes and their hex form.
 *
 * Every hash cairn commits to is H(header(dom) || payload), with H
 * libsodium's crypto_generichash (BLAKE2b, 32 bytes, no key) and the
 * 128-byte domain header of include/cairn/attest.h.  libsodium works without
 * sodium_init() (it then uses its portable BLAKE2b); calling it first only
 * picks a faster implementation of the same function. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "cairn/attest.h"
#include "cairn/error.h"

_Static_assert(sizeof(crypto_generichash_state) <=
                   sizeof(((struct cairn_hash_ctx *)0)->opaque),
               "cairn_hash_ctx too small for libsodium's state");
_Static_assert(_Alignof(struct cairn_hash_ctx) >=
                   _Alignof(crypto_generichash_state),
               "cairn_hash_ctx under-aligned for libsodium's state");
_Static_assert(crypto_generichash_BYTES == CAIRN_HASH_BYTES,
               "crypto_generichash_BYTES is not 32");

#define DOMAIN_ENTRY(name, tag, str) {tag, str},
static const struct {
	uint8_t tag;
	const char *str;
} domains[] = {CAIRN_DOMAINS(DOMAIN_ENTRY)};
#undef DOMAIN_ENTRY

const char *cairn_domain_string(int dom)
{
	for (size_t i = 0; i < sizeof domains / sizeof domains[0]; i++)
		if (domains[i].tag == dom)
			return domains[i].str;
	return NULL;
}

int cairn_domain_header(int dom, uint8_t out[CAIRN_DOMAIN_HEADER_BYTES])
{
	const char *str = cairn_domain_string(dom);
	size_t len;
	if (!str || !out)
		return CAIRN_EINVAL;
	len = strlen(str);
	if (len > CAIRN_DOMAIN_HEADER_BYTES - 2)
		return CAIRN_EINTERNAL;
	memset(out, 0, CAIRN_DOMAIN_HEADER_BYTES);
	out[0] = (uint8_t)dom;
	out[1] = (uint8_t)len;
	memcpy(out + 2, str, len);
	return 0;
}

static crypto_generichash_state *state_of(struct cairn_hash_ctx *ctx)
{
	return (crypto_generichash_state *)(void *)ctx->opaque;
}

int cairn_hash_init(struct cairn_hash_ctx *ctx, int dom)
{
	uint8_t hdr[CAIRN_DOMAIN_HEADER_BYTES];
	int rc;
	if (!ctx)
		return CAIRN_EINVAL;
	rc = cairn_domain_header(dom, hdr);
	if (rc)
		return rc;
	if (crypto_generichash_init(state_of(ctx), NULL, 0, CAIRN_HASH_BYTES) ||
	    crypto_generichash_update(state_of(ctx), hdr, sizeof hdr))
		return CAIRN_ECRYPTO;
	return 0;
}

int cairn_hash_update(struct cairn_hash_ctx *ctx, const void *data, size_t len)
{
	if (!ctx || (!data && len))
		return CAIRN_EINVAL;
	if (len == 0)
		return 0;
	if (crypto_generichash_update(state_of(ctx), data, len))
		return CAIRN_ECRYPTO;
	return 0;
}

int cairn_hash_final(struct cairn_hash_ctx *ctx, uint8_t out[CAIRN_HASH_BYTES])
{
	if (!ctx || !out)
		return CAIRN_EINVAL;
	if (crypto_generichash_final(state_of(ctx), out, CAIRN_HASH_BYTES))
		return CAIRN_ECRYPTO;
	return 0;
}

int cairn_hash_domain(int dom, const void *data, size_t len,
                      uint8_t out[CAIRN_HASH_BYTES])
{
	struct cairn_hash_ctx ctx;
	uint8_t h[CAIRN_HASH_BYTES];
	int rc;
	if (!out || (!data && len))
		return CAIRN_EINVAL;
	rc = cairn_hash_init(&ctx, dom);
	if (rc)
		goto out;
	rc = cairn_hash_update(&ctx, data, len);
	if (rc)
		goto out;
	rc = cairn_hash_final(&ctx, h);
	if (rc)
		goto out;
	memcpy(out, h, sizeof h);
out:
	sodium_memzero(&ctx, sizeof ctx);
	return rc;
}

int cairn_hash_equal(const uint8_t a[CAIRN_HASH_BYTES],
                     const uint8_t b[CAIRN_HASH_BYTES])
{
	if (!a || !b)
		return 0;
	return sodium_memcmp(a, b, CAIRN_HASH_BYTES) == 0;
}

int cairn_hash_to_hex(const uint8_t h[CAIRN_HASH_BYTES],
                      char out[CAIRN_HASH_HEX_BYTES])
{
	static const char digits[] = "0123456789abcdef";
	if (!h || !out)
		return CAIRN_EINVAL;
	for (int i = 0; i < CAIRN_HASH_BYTES; i++) {
		out[2 * i] = digits[h[i] >> 4];
		out[2 * i + 1] = digits[h[i] & 15];
	}
	out[2 * CAIRN_HASH_BYTES] = '\0';
	return 0;
}

/* 0..15 for a lower-case hex digit, -1 for anything else. */
static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int cairn_hash_from_hex(const char *s, size_t len,
                        uint8_t out[CAIRN_HASH_BYTES])
{
	uint8_t h[CAIRN_HASH_BYTES];
	if (!s || !out)
		return CAIRN_EINVAL;
	if (len != 2 * CAIRN_HASH_BYTES)
		return CAIRN_EFORMAT;
	for (int i = 0; i < CAIRN_HASH_BYTES; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return CAIRN_EFORMAT;
		h[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(out, h, sizeof h);
	return 0;
}

/*
 * url_fuzz: the request-target check (url_check_target) and url_join.
 *
 * Input: the bytes are the target; when they hold a NUL, the part before
 * it is also used as the upstream base for url_join.
 *
 * Checked besides "no crash":
 *  - an accepted target starts with '/', is at most URL_TARGET_MAX bytes,
 *    has no byte < 0x21 or >= 0x7f, no '#', no '\', and every '%' is
 *    followed by two hex digits;
 *  - url_join never writes past its buffer (each buffer is a heap block
 *    of exactly its size, so ASan sees one byte too many), returns 0 only
 *    when base-without-trailing-slashes + target fit, and then writes
 *    exactly that string; it returns -1 otherwise.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

#define FUZZ_NAME "url_fuzz"
#include "fuzz_common.h"

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static void check_accepted(const char *t)
{
	size_t len = strlen(t);

	if (t[0] != '/')
		fail("accepted target not starting with '/'", t);
	if (len > URL_TARGET_MAX)
		fail("accepted target longer than URL_TARGET_MAX", t);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c < 0x21 || c >= 0x7f)
			fail("accepted target with a control, space or non-ASCII byte", t);
		if (c == '#' || c == '\\')
			fail("accepted target with '#' or '\\'", t);
		/* t[i + 2] is readable: t[i + 1] is a hex digit, not the NUL. */
		if (c == '%' && !(is_hex(t[i + 1]) && is_hex(t[i + 2])))
			fail("accepted target with a bad percent-escape", t);
	}
}

/* Joins into a heap buffer of exactly outlen bytes and checks the result. */
static void check_join(const char *base, const char *target, size_t outlen)
{
	size_t blen = strlen(base), tlen = strlen(target);
	char *out = malloc(outlen ? outlen : 1);
	int rc;

	if (out == NULL)
		return;
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	out[0] = 'Z';	/* with outlen 0 nothing at all may be written */
	rc = url_join(base, target, out, outlen);
	if (outlen == 0 && out[0] != 'Z')
		fail("url_join wrote into a zero-length buffer", target);
	if (blen + tlen < outlen) {
		if (rc != 0)
			fail("url_join refused a result that fits", target);
		if (strlen(out) != blen + tlen || memcmp(out, base, blen) != 0 ||
		    memcmp(out + blen, target, tlen) != 0)
			fail("url_join wrote something else than base + target", target);
	} else if (rc != -1) {
		fail("url_join accepted a result that does not fit", target);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	const char *base, *target;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	target = s;
	if (url_check_target(target) == NULL)
		check_accepted(target);

	/* "BASE\0TARGET" splits; otherwise use a fixed upstream base. */
	base = "http://127.0.0.1:9000/prefix/";
	if (strlen(s) < size) {
		base = s;
		target = s + strlen(s) + 1;
	}
	static const size_t lens[] = { 0, 1, 2, 8, 16, 33, 64, 256, 4096, 20000 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		check_join(base, target, lens[i]);
	/* The boundary: exactly the joined length plus the NUL, and one less. */
	size_t joined = strlen(base) + strlen(target);
	for (size_t b = strlen(base); b > 0 && base[b - 1] == '/'; b--)
		joined--;
	check_join(base, target, joined + 1);
	check_join(base, target, joined);
	free(s);
	return 0;
}

/* b64: strict base64url (RFC 4648 section 5, no padding), as JOSE uses it. */
#include "b64.h"

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long b64url_decode(const char *in, size_t len, unsigned char *out, size_t outcap)
{
	unsigned long acc = 0;
	size_t n = 0, bits = 0;

	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value(in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= outcap)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1UL << bits) - 1;
		}
	}
	/* Leftover bits must be zero, or two strings would decode alike. */
	if (acc != 0)
		return -1;
	return (long)n;
}

long b64url_encode(const unsigned char *in, size_t n, char *out, size_t outcap)
{
	size_t o = 0;
	unsigned long acc = 0;
	size_t bits = 0;

	if (outcap < B64_ENCODED_SIZE(n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64_alphabet[(acc >> bits) & 63];
		}
		acc &= (1UL << bits) - 1;
	}
	if (bits > 0)
		out[o++] = b64_alphabet[(acc << (6 - bits)) & 63];
	out[o] = '\0';
	return (long)o;
}

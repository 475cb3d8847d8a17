/* reqid: request ids, kept from a trusted proxy or generated. */
#include "reqid.h"

#include <openssl/rand.h>
#include <string.h>

bool reqid_is_valid(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return false;
	for (; s[n] != '\0'; n++) {
		char c = s[n];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		if (!ok || n >= REQID_MAX)
			return false;
	}
	return n > 0;
}

int reqid_generate(char out[REQID_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[16];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	for (size_t i = 0; i < sizeof(r); i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[2 * sizeof(r)] = '\0';
	return 0;
}

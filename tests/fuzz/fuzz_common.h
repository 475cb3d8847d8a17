/* fuzz_common: the failure report shared by the fuzz targets. */
#ifndef PAYWALLD_FUZZ_COMMON_H
#define PAYWALLD_FUZZ_COMMON_H

#include <sanitizer/common_interface_defs.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef FUZZ_NAME
#error "define FUZZ_NAME (the target's name) before including fuzz_common.h"
#endif

/*
 * Reports a broken property and aborts, which libFuzzer turns into a crash
 * artifact. The message goes to stderr and, because run.sh closes the
 * target's stderr (-close_fd_mask=3), also through the sanitizer's report
 * channel, which libFuzzer keeps open. detail may be NULL; its bytes are
 * escaped and cut at 160.
 */
static void __attribute__((noreturn)) fail(const char *what, const char *detail)
{
	char msg[1024];
	const char *p = detail ? detail : "(null)";
	int w;
	size_t n;

	w = snprintf(msg, 256, "%s: property broken: %s: \"", FUZZ_NAME, what);
	n = w < 0 ? 0 : w >= 256 ? 255 : (size_t)w;
	for (size_t k = 0; p[k] != '\0' && k < 160; k++) {
		unsigned char c = (unsigned char)p[k];
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			n += (size_t)snprintf(msg + n, sizeof(msg) - n, "\\x%02x", c);
		else
			msg[n++] = (char)c;
	}
	snprintf(msg + n, sizeof(msg) - n, "\"");
	fprintf(stderr, "%s\n", msg);
	__sanitizer_report_error_summary(msg);
	abort();
}

#endif

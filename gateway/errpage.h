/* errpage: the small pages the gateway answers with when it cannot proxy. */
#ifndef PAYWALLD_ERRPAGE_H
#define PAYWALLD_ERRPAGE_H

#include <stddef.h>

/*
 * Returns a static HTML page for status (400, 413, 431, 500, 502, 503,
 * 504; anything else gets a generic page) and its length. The page names
 * the status only: no request data is echoed, so nothing can be injected.
 */
const char *errpage_body(int status, size_t *len);

#endif

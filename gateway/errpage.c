/* errpage: the small pages the gateway answers with when it cannot proxy. */
#include "errpage.h"

#include <string.h>

#define ERRPAGE(code, title, text) \
	"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">" \
	"<title>" code title "</title></head>\n<body><h1>" title "</h1>\n" \
	"<p>" text "</p></body></html>\n"

struct errpage {
	int status;
	const char *body;
};

static const struct errpage errpages[] = {
	{ 400, ERRPAGE("400 ", "Bad Request", "The request could not be understood.") },
	{ 413, ERRPAGE("413 ", "Content Too Large", "The request body is larger than allowed.") },
	{ 431, ERRPAGE("431 ", "Request Header Fields Too Large",
		       "The request headers are larger than allowed.") },
	{ 500, ERRPAGE("500 ", "Internal Server Error", "Something went wrong on our side.") },
	{ 502, ERRPAGE("502 ", "Bad Gateway",
		       "The article server could not be reached. Please try again shortly.") },
	{ 503, ERRPAGE("503 ", "Service Unavailable", "The service is restarting. Please retry.") },
	{ 504, ERRPAGE("504 ", "Gateway Timeout",
		       "The article server took too long to answer. Please try again shortly.") },
};

const char *errpage_body(int status, size_t *len)
{
	static const char generic[] = ERRPAGE("", "Error", "The request could not be served.");

	for (size_t i = 0; i < sizeof(errpages) / sizeof(errpages[0]); i++) {
		if (errpages[i].status == status) {
			*len = strlen(errpages[i].body);
			return errpages[i].body;
		}
	}
	*len = sizeof(generic) - 1;
	return generic;
}

/*
 * teaser_bench: the cost of cutting an article page into a teaser with the
 * gateway's own rewriter (gumbo parse, cut, JSON-LD, leak scrub), cold, and
 * from the teaser cache. Pages of about 60 KB and 300 KB are made from the
 * demo article by repeating its body paragraphs.
 * Usage: teaser_bench DEMO_ARTICLE.html [SECONDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "selector.h"
#include "tcache.h"
#include "teaser.h"

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The article with its body paragraphs repeated until the page is ~size. */
static char *bench_page(const char *html, size_t size, size_t *len)
{
	const char *open = strstr(html, "<div class=\"article-body\">");
	const char *close = open ? strstr(open, "</div>") : NULL;
	struct buf b;

	if (open == NULL || close == NULL)
		return NULL;
	open += strlen("<div class=\"article-body\">");
	buf_init(&b, size + 64 * 1024);
	if (buf_append(&b, html, (size_t)(open - html)) != 0)
		return NULL;
	while (b.len + (size_t)(close - open) + strlen(close) < size)
		if (buf_append(&b, open, (size_t)(close - open)) != 0)
			break;
	if (buf_append_str(&b, close) != 0)
		return NULL;
	*len = b.len;
	return b.data;
}

static void bench_one(const char *name, const char *page, size_t len,
		      const struct teaser_rules *r, double seconds)
{
	struct tcache *c = tcache_new(16, 64 * 1024 * 1024);
	unsigned char key[32] = { 1 };
	double start = bench_now(), el;
	unsigned long n = 0, m = 0;
	char *out = NULL;
	size_t outlen = 0;

	do {
		free(out);
		if (teaser_render(page, len, r, &out, &outlen) != TEASER_OK) {
			fprintf(stderr, "teaser_bench: page not cut\n");
			exit(1);
		}
		n++;
		el = bench_now() - start;
	} while (el < seconds);
	double cold_us = el * 1e6 / (double)n;
	tcache_put(c, key, out, outlen);
	start = bench_now();
	do {
		char *hit;
		size_t hl;
		for (int i = 0; i < 64; i++, m++) {
			if (tcache_get(c, key, &hit, &hl) != 0)
				exit(1);
			free(hit);
		}
		el = bench_now() - start;
	} while (el < seconds);
	printf("%-8s %8zu %8zu %12.0f %12.1f %14.0f\n", name, len, outlen, cold_us,
	       el * 1e6 / (double)m, (double)n / (seconds > 0 ? seconds : 1));
	free(out);
	tcache_free(c);
}

int main(int argc, char **argv)
{
	double seconds = argc > 2 ? strtod(argv[2], NULL) : 1.0;
	struct selector *sel;
	size_t col, len, l60, l300;
	char err[256], *html, *p60, *p300;
	FILE *f;
	static const char box[] = "<section class=\"paywall-box\">Subscribe</section>";

	if (argc < 2 || (f = fopen(argv[1], "rb")) == NULL)
		return 2;
	html = calloc(1, 1 << 20);
	len = fread(html, 1, (1 << 20) - 1, f);
	fclose(f);
	if (selector_parse("div.article-body", &sel, &col, err, sizeof(err)) != 0)
		return 1;
	struct teaser_rules r = { sel, 2, "paywall-break", box, sizeof(box) - 1, NULL, 0 };
	p60 = bench_page(html, 60 * 1024, &l60);
	p300 = bench_page(html, 300 * 1024, &l300);
	if (p60 == NULL || p300 == NULL || len == 0)
		return 1;
	printf("%-8s %8s %8s %12s %12s %14s\n", "page", "bytes", "teaser", "cold us", "cached us",
	       "cold pages/s");
	bench_one("60KB", p60, l60, &r, seconds);
	bench_one("300KB", p300, l300, &r, seconds);
	free(p60);
	free(p300);
	free(html);
	selector_free(sel);
	return 0;
}

/* jwks: fetching the publisher's key set from jwks_url, and keeping it fresh. */
#include "jwks.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "log.h"

#define JWKS_TIMEOUT_MS 5000
#define JWKS_IDLE_WAIT_S 5	/* how often to look again when no URL is set */

struct jwks_fetcher {
	struct snapshot_slot *slot;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	bool poked;
	time_t last_fetch;
	unsigned char last_digest[32];	/* of the last installed body */
	bool have_digest;
};

static size_t jwks_on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	size_t len = size * nmemb;

	return buf_append(ud, p, len) == 0 ? len : 0;
}

int jwks_fetch(const char *url, long timeout_ms, struct keyset **out, unsigned char *digest,
	       char *err, size_t errlen)
{
	CURL *e = curl_easy_init();
	struct buf body;
	long status = 0;
	CURLcode rc;
	int ret = -1;

	buf_init(&body, KEYSET_JSON_MAX);
	if (e == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, jwks_on_body) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, &body) != CURLE_OK) {
		snprintf(err, errlen, "cannot set up the request");
		goto out;
	}
	rc = curl_easy_perform(e);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", rc == CURLE_WRITE_ERROR ? "larger than 256 KiB" :
			 curl_easy_strerror(rc));
		goto out;
	}
	if (curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200) {
		snprintf(err, errlen, "HTTP status %ld", status);
		goto out;
	}
	if (digest != NULL &&
	    EVP_Digest(body.data ? body.data : "", body.len, digest, NULL, EVP_sha256(), NULL) != 1)
		memset(digest, 0, 32);
	ret = keyset_parse_public(body.data ? body.data : "", body.len, out, err, errlen);
out:
	buf_free(&body);
	curl_easy_cleanup(e);
	return ret;
}

/* Whether the slot's URL keys came from url (a reload may have dropped them). */
static bool jwks_installed_from(struct jwks_fetcher *f, const char *url)
{
	bool same;

	pthread_mutex_lock(&f->slot->lock);
	same = f->slot->url_keys_from != NULL && strcmp(f->slot->url_keys_from, url) == 0;
	pthread_mutex_unlock(&f->slot->lock);
	return same;
}

/* One refresh: fetch the URL of the current config, install what came. */
static void jwks_refresh(struct jwks_fetcher *f, const char *url)
{
	struct keyset *ks = NULL;
	unsigned char digest[32];
	char err[512];
	unsigned long gen;

	if (jwks_fetch(url, JWKS_TIMEOUT_MS, &ks, digest, err, sizeof(err)) != 0) {
		log_error("jwks", "fetch of %s failed, keeping the last good keys: %s", url, err);
		return;
	}
	/* Unchanged keys: no new snapshot, so no emptied token cache (which an
	 * unknown-kid token could otherwise force every jwks_min_refresh_s). */
	if (f->have_digest && memcmp(digest, f->last_digest, 32) == 0 &&
	    jwks_installed_from(f, url)) {
		keyset_unref(ks);
		return;
	}
	gen = snapshot_swap_url_keys(f->slot, url, ks);
	if (gen == 0)
		log_warn("jwks", "keys from %s not installed (URL no longer configured, or out of memory)",
			 url);
	else
		log_info("jwks", "%zu keys from %s installed (generation %lu)", ks->n, url, gen);
	if (gen != 0) {
		memcpy(f->last_digest, digest, 32);
		f->have_digest = true;
	}
	keyset_unref(ks);
}

/* Reads what the current config asks for. url is a copy (owned). */
static void jwks_current(struct jwks_fetcher *f, char **url, long long *every)
{
	struct snapshot *s = snapshot_acquire(f->slot);
	const struct identity_config *ic = &s->cfg->identity;

	*url = ic->enabled && ic->jwks_url != NULL ? strdup(ic->jwks_url) : NULL;
	*every = *url != NULL ? ic->jwks_refresh_s : JWKS_IDLE_WAIT_S;
	snapshot_release(s);
}

static void *jwks_run(void *arg)
{
	struct jwks_fetcher *f = arg;
	char *last_url = NULL;

	for (;;) {
		long long every;
		char *url;

		jwks_current(f, &url, &every);
		/* A new URL after a reload is fetched at once. */
		bool changed = url != NULL && (last_url == NULL || strcmp(url, last_url) != 0);
		pthread_mutex_lock(&f->lock);
		bool due = url != NULL && (changed || f->poked ||
					   time(NULL) - f->last_fetch >= every);
		if (due) {
			f->poked = false;
			f->last_fetch = time(NULL);
		}
		pthread_mutex_unlock(&f->lock);
		if (due)
			jwks_refresh(f, url);
		free(last_url);
		last_url = url;

		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += url != NULL && every < JWKS_IDLE_WAIT_S ? every : JWKS_IDLE_WAIT_S;
		pthread_mutex_lock(&f->lock);
		while (!f->stop && !f->poked &&
		       pthread_cond_timedwait(&f->wake, &f->lock, &until) == 0)
			;
		bool stop = f->stop;
		pthread_mutex_unlock(&f->lock);
		if (stop)
			break;
	}
	free(last_url);
	return NULL;
}

struct jwks_fetcher *jwks_fetcher_start(struct snapshot_slot *slot)
{
	struct jwks_fetcher *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->slot = slot;
	if (pthread_mutex_init(&f->lock, NULL) != 0)
		goto fail_mutex;
	if (pthread_cond_init(&f->wake, NULL) != 0)
		goto fail_cond;
	if (pthread_create(&f->thread, NULL, jwks_run, f) != 0)
		goto fail_thread;
	return f;
fail_thread:
	pthread_cond_destroy(&f->wake);
fail_cond:
	pthread_mutex_destroy(&f->lock);
fail_mutex:
	free(f);
	return NULL;
}

void jwks_fetcher_poke(struct jwks_fetcher *f)
{
	struct snapshot *s;
	long long min;

	if (f == NULL)
		return;
	s = snapshot_acquire(f->slot);
	min = s->cfg->identity.jwks_min_refresh_s;
	snapshot_release(s);
	/* trylock: a request thread never waits behind a fetch in progress. */
	if (pthread_mutex_trylock(&f->lock) != 0)
		return;
	if (!f->poked && time(NULL) - f->last_fetch >= min) {
		f->poked = true;
		pthread_cond_signal(&f->wake);
	}
	pthread_mutex_unlock(&f->lock);
}

void jwks_fetcher_stop(struct jwks_fetcher *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->lock);
	f->stop = true;
	pthread_cond_signal(&f->wake);
	pthread_mutex_unlock(&f->lock);
	pthread_join(f->thread, NULL);
	pthread_cond_destroy(&f->wake);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

/* visitor: the anonymous reader's id, carried in an HMAC-signed cookie. */
#include "visitor.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "cookie.h"

#define VISITOR_TAG_LEN 16
/* Domain separation: this key may also sign other things one day. */
static const char visitor_context[] = "paywalld visitor id v1";

#define VC(f) offsetof(struct visitor_config, f)
static const struct cfg_field visitor_fields[] = {
	{ "cookie", CFG_STR, VC(cookie), false, 0, 0, NULL, NULL },
	{ "secret_file", CFG_SECRET, VC(secret), true, 0, 0, NULL, NULL },
	{ "secure_cookie", CFG_BOOL, VC(secure_cookie), false, 0, 0, NULL, NULL },
};
#undef VC

int visitor_config_parse(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	struct visitor_config *vc = value;

	vc->enabled = true;
	vc->secure_cookie = true;
	if ((vc->cookie = strdup("pw_vid")) == NULL) {
		cfg_error(c, n, "visitor: out of memory");
		return -1;
	}
	if (cfg_parse_map(c, n, visitor_fields, sizeof(visitor_fields) / sizeof(visitor_fields[0]),
			  vc) != 0)
		return -1;
	if (!cookie_name_is_valid(vc->cookie)) {
		cfg_error(c, n, "visitor: cookie is not a valid cookie name");
		return -1;
	}
	/* Browsers drop __Host-/__Secure- cookies without Secure: every reader
	 * would be a new visitor and the meter would never run out. */
	struct cookie_attrs a = { "/", VISITOR_MAX_AGE_S, true, vc->secure_cookie, "Lax" };
	char probe[VISITOR_SET_COOKIE_MAX];
	if (cookie_build(vc->cookie, "x", &a, probe, sizeof(probe)) != 0) {
		cfg_error(c, n, "visitor: cookie %s needs secure_cookie: true", vc->cookie);
		return -1;
	}
	return 0;
}

void visitor_config_free(struct visitor_config *vc)
{
	cfg_free_fields(visitor_fields, sizeof(visitor_fields) / sizeof(visitor_fields[0]), vc);
}

static int visitor_tag(const struct visitor_config *vc, const uint8_t id[VISITOR_ID_LEN],
		       uint8_t tag[VISITOR_TAG_LEN])
{
	uint8_t msg[sizeof(visitor_context) + VISITOR_ID_LEN], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (vc->secret.bytes == NULL)
		return -1;
	memcpy(msg, visitor_context, sizeof(visitor_context));
	memcpy(msg + sizeof(visitor_context), id, VISITOR_ID_LEN);
	if (HMAC(EVP_sha256(), vc->secret.bytes, (int)vc->secret.len, msg, sizeof(msg), mac,
		 &maclen) == NULL || maclen < VISITOR_TAG_LEN)
		return -1;
	memcpy(tag, mac, VISITOR_TAG_LEN);
	return 0;
}

int visitor_parse_value(const struct visitor_config *vc, const char *value,
			uint8_t id[VISITOR_ID_LEN])
{
	uint8_t raw[VISITOR_ID_LEN + VISITOR_TAG_LEN + 4], want[VISITOR_TAG_LEN];
	size_t len = strlen(value);

	if (len != VISITOR_VALUE_LEN ||
	    b64url_decode(value, len, raw, sizeof(raw)) != VISITOR_ID_LEN + VISITOR_TAG_LEN)
		return -1;
	if (visitor_tag(vc, raw, want) != 0 ||
	    CRYPTO_memcmp(want, raw + VISITOR_ID_LEN, VISITOR_TAG_LEN) != 0)
		return -1;
	memcpy(id, raw, VISITOR_ID_LEN);
	return 0;
}

int visitor_read(const struct visitor_config *vc, const char *cookie_header,
		 uint8_t id[VISITOR_ID_LEN])
{
	char value[VISITOR_VALUE_LEN + 2];

	if (cookie_header == NULL ||
	    cookie_get(cookie_header, vc->cookie, value, sizeof(value)) != 0)
		return -1;
	return visitor_parse_value(vc, value, id);
}

int visitor_new(uint8_t id[VISITOR_ID_LEN])
{
	return RAND_bytes(id, VISITOR_ID_LEN) == 1 ? 0 : -1;
}

int visitor_value(const struct visitor_config *vc, const uint8_t id[VISITOR_ID_LEN],
		  char out[VISITOR_VALUE_LEN + 1])
{
	uint8_t raw[VISITOR_ID_LEN + VISITOR_TAG_LEN];
	char enc[B64_ENCODED_SIZE(VISITOR_ID_LEN + VISITOR_TAG_LEN)];

	memcpy(raw, id, VISITOR_ID_LEN);
	if (visitor_tag(vc, id, raw + VISITOR_ID_LEN) != 0 ||
	    b64url_encode(raw, sizeof(raw), enc, sizeof(enc)) != VISITOR_VALUE_LEN)
		return -1;
	memcpy(out, enc, VISITOR_VALUE_LEN + 1);
	return 0;
}

int visitor_set_cookie(const struct visitor_config *vc, const uint8_t id[VISITOR_ID_LEN],
		       char *out, size_t outlen)
{
	struct cookie_attrs a = { "/", VISITOR_MAX_AGE_S, true, vc->secure_cookie, "Lax" };
	char value[VISITOR_VALUE_LEN + 1];

	if (visitor_value(vc, id, value) != 0)
		return -1;
	return cookie_build(vc->cookie, value, &a, out, outlen);
}

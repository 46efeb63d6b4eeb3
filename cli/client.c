/* SPDX-License-Identifier: Apache-2.0 */
#include "client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef WEFT_VERSION
#define WEFT_VERSION "0"
#endif

/* Answers larger than this are refused rather than buffered: no list weftd
 * sends comes close, and a runaway peer should not exhaust memory. */
#define CLIENT_MAX_ANSWER (256u << 20)

struct client {
	CURL *curl;
	char *url;
	char *token;
	char *project;
	char curl_error[CURL_ERROR_SIZE];
};

/* The body of an answer as it arrives. */
struct answer {
	char *data;
	size_t len;
};

static size_t answer_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct answer *a = userdata;
	size_t n = size * nmemb;
	char *p;

	if (n > CLIENT_MAX_ANSWER - a->len - 1)
		return 0;
	p = realloc(a->data, a->len + n + 1);
	if (!p)
		return 0;
	memcpy(p + a->len, ptr, n);
	a->data = p;
	a->len += n;
	a->data[a->len] = '\0';
	return n;
}

static char *strdup_or_null(const char *s, int *r)
{
	char *copy;

	if (!s || !*s)
		return NULL;
	copy = strdup(s);
	if (!copy)
		*r = -ENOMEM;
	return copy;
}

int client_new(const char *url, const char *token, const char *project,
	       struct client **ret)
{
	struct client *c;
	size_t len;
	int r = 0;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->curl = curl_easy_init();
	c->url = strdup(url);
	c->token = strdup_or_null(token, &r);
	c->project = strdup_or_null(project, &r);
	if (!c->curl || !c->url || r < 0) {
		client_free(c);
		return -ENOMEM;
	}
	len = strlen(c->url);
	while (len > 0 && c->url[len - 1] == '/')
		c->url[--len] = '\0';
	*ret = c;
	return 0;
}

void client_free(struct client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->url);
	free(c->token);
	free(c->project);
	free(c);
}

const char *client_url(const struct client *c)
{
	return c->url;
}

char *client_escape(struct client *c, const char *s)
{
	char *escaped, *copy;

	escaped = curl_easy_escape(c->curl, s, 0);
	if (!escaped)
		return NULL;
	copy = strdup(escaped);
	curl_free(escaped);
	return copy;
}

/* Appends "'name': 'value'" to 'headers' unless 'value' is NULL. Returns
 * the new list, or NULL when out of memory (the old list is then freed). */
static struct curl_slist *header_append(struct curl_slist *headers,
					const char *name, const char *value)
{
	struct curl_slist *more = NULL;
	char *line;

	if (!value)
		return headers;
	/* "Name:" with nothing after the colon removes a header libcurl
	 * would otherwise add on its own. */
	if (asprintf(&line, "%s:%s%s", name, *value ? " " : "", value) >= 0) {
		more = curl_slist_append(headers, line);
		free(line);
	}
	if (!more)
		curl_slist_free_all(headers);
	return more;
}

/* Fills 'err' from an error answer with 'status' and body 'text', which
 * should carry {"NeutronError": {"type", "message", "detail"}}. */
static void error_from_answer(long status, const char *text,
			      struct client_error *err)
{
	json_t *root, *neutron;
	const char *type = NULL, *message = NULL, *detail = NULL;

	root = text ? json_loads(text, 0, NULL) : NULL;
	neutron = json_object_get(root, "NeutronError");
	if (json_is_string(neutron)) {
		message = json_string_value(neutron);
	} else {
		type = json_string_value(json_object_get(neutron, "type"));
		message =
			json_string_value(json_object_get(neutron, "message"));
		detail = json_string_value(json_object_get(neutron, "detail"));
	}

	err->status = status;
	snprintf(err->type, sizeof(err->type), "%s", type ? type : "");
	if (!message || !*message)
		snprintf(err->message, sizeof(err->message),
			 "weftd gave no error message");
	else if (detail && *detail && strcmp(detail, message))
		snprintf(err->message, sizeof(err->message), "%s: %s", message,
			 detail);
	else
		snprintf(err->message, sizeof(err->message), "%s", message);
	json_decref(root);
}

/* Fills 'err' for a request that got no HTTP answer and returns the
 * negative errno to report. The operating system's reason ("Connection
 * refused") says more than libcurl's summary, so it comes first. */
static int error_from_transport(struct client *c, CURLcode code,
				struct client_error *err)
{
	long os_errno = 0;

	curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
	err->status = 0;
	err->type[0] = '\0';
	if (os_errno > 0)
		snprintf(err->message, sizeof(err->message), "%s",
			 strerror((int)os_errno));
	else if (c->curl_error[0])
		snprintf(err->message, sizeof(err->message), "%s",
			 c->curl_error);
	else
		snprintf(err->message, sizeof(err->message), "%s",
			 curl_easy_strerror(code));
	if (code == CURLE_OUT_OF_MEMORY)
		return -ENOMEM;
	return os_errno > 0 ? -(int)os_errno : -EIO;
}

int client_request(struct client *c, const char *method, const char *path,
		   json_t *body, json_t **ret, struct client_error *err)
{
	struct curl_slist *headers = NULL;
	struct answer answer = { 0 };
	char *url = NULL, *text = NULL;
	json_t *parsed = NULL;
	long status = 0;
	CURLcode code;
	int r = 0;

	if (asprintf(&url, "%s%s", c->url, path) < 0) {
		url = NULL;
		r = -ENOMEM;
		goto out;
	}
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text) {
			r = -ENOMEM;
			goto out;
		}
	}

	headers = header_append(headers, "Accept", "application/json");
	if (headers && body)
		headers = header_append(headers, "Content-Type",
					"application/json");
	/* An empty Expect header stops libcurl from waiting for a
	 * "100 Continue" before sending a large body. */
	if (headers)
		headers = header_append(headers, "Expect", "");
	if (headers)
		headers = header_append(headers, "X-Auth-Token", c->token);
	if (headers)
		headers = header_append(headers, "X-Project-Id", c->project);
	if (!headers) {
		r = -ENOMEM;
		goto out;
	}

	curl_easy_reset(c->curl);
	c->curl_error[0] = '\0';
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	if (text) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, text);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE,
				 (long)strlen(text));
	}
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "weftctl/" WEFT_VERSION);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, answer_write);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &answer);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_error);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 120L);

	code = curl_easy_perform(c->curl);
	if (code != CURLE_OK) {
		r = error_from_transport(c, code, err);
		goto out;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);

	if (status < 200 || status > 299) {
		error_from_answer(status, answer.data, err);
		r = -EREMOTEIO;
		goto out;
	}
	if (answer.len > 0) {
		parsed = json_loadb(answer.data, answer.len, 0, NULL);
		if (!parsed) {
			err->status = status;
			err->type[0] = '\0';
			snprintf(
				err->message, sizeof(err->message),
				"weftd answered with something that is not JSON");
			r = -EBADMSG;
			goto out;
		}
	}
	if (ret)
		*ret = parsed;
	else
		json_decref(parsed);

out:
	curl_slist_free_all(headers);
	free(answer.data);
	free(text);
	free(url);
	return r;
}

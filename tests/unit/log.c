/* Unit tests of log_escape(): every byte, truncation at whole escapes. */
#include <string.h>

#include "log.h"
#include "unit.h"

static void
test_table(void)
{
	static const struct {
		const char	*in;
		const char	*want;
	} t[] = {
		{ "", "" },
		{ "CN=alice,O=Example", "CN=alice,O=Example" },
		{ "a\r\nb", "a\\r\\nb" },
		{ "\t\x1b[2K", "\\t\\033[2K" },
		{ "say \"hi\" \\o/", "say \\\"hi\\\" \\\\o/" },
		{ "\x7f\x80\xff", "\\177\\200\\377" },
		{ "caf\xc3\xa9", "caf\\303\\251" },
		{ "\x01~ ", "\\001~ " },
	};
	char buf[256];
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		log_escape(buf, sizeof buf, t[i].in);
		CHECK(strcmp(buf, t[i].want) == 0, "case %zu: got \"%s\"", i,
		    buf);
	}
}

/* Every byte but NUL: nothing below 0x20 or from 0x7f on survives. */
static void
test_every_byte(void)
{
	char in[256], out[1024];
	size_t i, n = 0;
	int bad = 0;

	for (i = 1; i < 256; i++)
		in[n++] = (char)i;
	in[n] = '\0';
	log_escape(out, sizeof out, in);
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 ||
		    (unsigned char)out[i] >= 0x7f)
			bad++;
	CHECK(bad == 0, "%d raw bytes left", bad);
	/* 95 printable, '\\' and '"' doubled, 3 short escapes, 157 octal. */
	CHECK(strlen(out) == 93 + 2 * 2 + 3 * 2 + 157 * 4, "length %zu",
	    strlen(out));
}

static void
test_truncation(void)
{
	char buf[8];
	size_t size;

	/* Fits exactly: no "...". */
	log_escape(buf, sizeof buf, "abcdefg");
	CHECK(strcmp(buf, "abcdefg") == 0, "got \"%s\"", buf);
	log_escape(buf, sizeof buf, "abcdefgh");
	CHECK(strcmp(buf, "abcd...") == 0, "got \"%s\"", buf);
	/* An escape is never cut. */
	log_escape(buf, sizeof buf, "ab\x1b" "cdefg");
	CHECK(strcmp(buf, "ab...") == 0, "got \"%s\"", buf);
	for (size = 1; size <= sizeof buf; size++) {
		memset(buf, 'Z', sizeof buf);
		log_escape(buf, size, "\x1b\x1b\x1b\x1b");
		CHECK(memchr(buf, '\0', size) != NULL, "size %zu: no NUL",
		    size);
		CHECK(strchr(buf, '\x1b') == NULL, "size %zu: raw ESC", size);
	}
}

int
main(void)
{
	test_table();
	test_every_byte();
	test_truncation();
	return unit_done("log");
}

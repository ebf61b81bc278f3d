/* lib/net: ADDR/BITS prefixes for tlsfront --proxy-from. */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "net.h"
#include "unit.h"

/* Whether ADDR lies in the prefixes of spec (comma-separated). */
static int
in(const char *spec, const char *addr)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct net_cidr c[8];
	char buf[256], *p, *save = NULL;
	size_t n = 0;

	snprintf(buf, sizeof buf, "%s", spec);
	for (p = strtok_r(buf, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save))
		if (net_cidr_parse(p, &c[n]) == 0)
			n++;
	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1)
		s6->sin6_family = AF_INET6;
	else
		ss.ss_family = AF_UNIX;
	return net_cidr_match(c, n, (struct sockaddr *)&ss);
}

int
main(void)
{
	static const char *const bad[] = { "", "/8", "10.0.0.0/", "10.0.0.0/33",
	    "10.0.0.0/-1", "10.0.0.0/ 8", "10.0.0.0/8x", "10.0.0/8",
	    "::1/129", "example.com/8", "10.0.0.0//8", "010.0.0.1",
	    "10.0.0.0/+8" };
	struct net_cidr c;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(net_cidr_parse(bad[i], &c) == -1, "\"%s\"", bad[i]);
	CHECK(net_cidr_parse("127.0.0.1", &c) == 0 && c.bits == 32, "%s", "net_cidr_parse(\"127.0.0.1\", &c) == 0 && c.bits == 32");
	CHECK(net_cidr_parse("::1", &c) == 0 && c.bits == 128, "%s", "net_cidr_parse(\"::1\", &c) == 0 && c.bits == 128");
	CHECK(net_cidr_parse("0.0.0.0/0", &c) == 0 && c.bits == 0, "%s", "net_cidr_parse(\"0.0.0.0/0\", &c) == 0 && c.bits == 0");

	CHECK(in("127.0.0.0/8", "127.1.2.3"), "%s", "in(\"127.0.0.0/8\", \"127.1.2.3\")");
	CHECK(!in("127.0.0.0/8", "128.0.0.1"), "%s", "!in(\"127.0.0.0/8\", \"128.0.0.1\")");
	CHECK(in("10.1.2.128/25", "10.1.2.255"), "%s", "in(\"10.1.2.128/25\", \"10.1.2.255\")");
	CHECK(!in("10.1.2.128/25", "10.1.2.127"), "%s", "!in(\"10.1.2.128/25\", \"10.1.2.127\")");
	CHECK(in("10.1.2.3", "10.1.2.3"), "%s", "in(\"10.1.2.3\", \"10.1.2.3\")");
	CHECK(!in("10.1.2.3", "10.1.2.4"), "%s", "!in(\"10.1.2.3\", \"10.1.2.4\")");
	CHECK(in("0.0.0.0/0", "203.0.113.9"), "%s", "in(\"0.0.0.0/0\", \"203.0.113.9\")");
	CHECK(!in("0.0.0.0/0", "2001:db8::1"), "IPv4 prefixes hold no IPv6");
	CHECK(in("192.0.2.0/24", "::ffff:192.0.2.7"), "IPv4-mapped as IPv4");
	CHECK(!in("::ffff:0:0/96", "::ffff:192.0.2.7"), "mapped is IPv4 only");
	CHECK(in("2001:db8::/32", "2001:db8:ffff::1"), "%s", "in(\"2001:db8::/32\", \"2001:db8:ffff::1\")");
	CHECK(!in("2001:db8::/32", "2001:db9::1"), "%s", "!in(\"2001:db8::/32\", \"2001:db9::1\")");
	CHECK(in("2001:db8::/33", "2001:db8:7fff::1"), "%s", "in(\"2001:db8::/33\", \"2001:db8:7fff::1\")");
	CHECK(!in("2001:db8::/33", "2001:db8:8000::1"), "%s", "!in(\"2001:db8::/33\", \"2001:db8:8000::1\")");
	CHECK(in("::/0", "::1"), "%s", "in(\"::/0\", \"::1\")");
	CHECK(in("10.0.0.0/8,::1", "::1"), "a list");
	CHECK(in("10.0.0.0/8,::1", "10.9.9.9"), "a list");
	CHECK(!in("10.0.0.0/8,::1", "11.0.0.1"), "a list");
	CHECK(!in("0.0.0.0/0,::/0", "unix"), "no address");
	CHECK(!in("", "10.0.0.1"), "an empty list");

	return unit_done("net");
}

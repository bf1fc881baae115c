/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * untrusted.c - the one rule for bytes from outside (untrusted.h): a UTF-8 decoder that
 * takes a character only when it is the shortest encoding of a character XML 1.0 allows.
 * Written by hand: libxml2's xmlGetUTF8Char, used before, lets a stray continuation byte
 * followed by another through as a character, so its output could be invalid UTF-8;
 * json-c has no validating decoder, and glibc's mbrtowc depends on the locale.
 */
#include "config.h"
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "untrusted.h"

/* XML 1.0's Char production */
static int xml_char(uint32_t c)
{
	return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
	       (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* The bytes of the character at @u (@left bytes there), or 0 when it is not one we pass */
static size_t utf8_char(const unsigned char *u, size_t left)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n;
	uint32_t c;

	if (u[0] < 0x80)
		n = 1, c = u[0];
	else if ((u[0] & 0xE0) == 0xC0)
		n = 2, c = u[0] & 0x1F;
	else if ((u[0] & 0xF0) == 0xE0)
		n = 3, c = u[0] & 0x0F;
	else if ((u[0] & 0xF8) == 0xF0)
		n = 4, c = u[0] & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((u[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (u[i] & 0x3F);
	}
	return c >= min[n] && xml_char(c) ? n : 0;
}

char *ick_untrusted_clean(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	char *out, *o;
	size_t i = 0, n;

	/* at worst 4 output bytes ("\xHH") for each input byte */
	if (len > (SIZE_MAX - 1) / 4 || !(out = o = malloc(len * 4 + 1)))
		return NULL;
	while (i < len) {
		if (u[i] == '\\') {
			*o++ = '\\';
			*o++ = '\\';
			i++;
		} else if ((n = utf8_char(u + i, len - i))) {
			memcpy(o, u + i, n);
			o += n;
			i += n;
		} else {
			o += sprintf(o, "\\x%02X", u[i]);
			i++;
		}
	}
	*o = 0;
	return out;
}

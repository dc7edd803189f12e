// The UTF-8 check and the message-safe names of lib/io/text.cpp.
#include "support/test.hpp"

#include "io/text.hpp"

using attograd::io::detail::is_utf8;
using attograd::io::detail::printable;

BOOST_AUTO_TEST_SUITE(io_text)

BOOST_AUTO_TEST_CASE(accepts_every_length_of_utf8_character) {
  BOOST_TEST(is_utf8(""));
  BOOST_TEST(is_utf8("plain ascii"));
  BOOST_TEST(is_utf8("\xc3\xa9"));          // é, 2 bytes
  BOOST_TEST(is_utf8("\xe2\x9c\x93"));      // ✓, 3 bytes
  BOOST_TEST(is_utf8("\xf0\x9f\x98\x80"));  // U+1F600, 4 bytes
  BOOST_TEST(is_utf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF, the last code point
  BOOST_TEST(is_utf8("\xed\x9f\xbf"));      // U+D7FF, just below the surrogates
  BOOST_TEST(is_utf8(std::string_view("a\0b", 3)));  // NUL is valid UTF-8 (the JSON check refuses it)
}

BOOST_AUTO_TEST_CASE(rejects_malformed_utf8_at_the_first_bad_byte) {
  struct Case {
    std::string text;
    std::size_t bad;
  };
  const std::vector<Case> cases{
      {"ab\x80", 2},               // a continuation byte without a lead
      {"\xc0\xaf", 0},             // overlong '/'
      {"\xc1\xbf", 0},             // overlong
      {"x\xe0\x80\xaf", 1},        // overlong 3-byte form
      {"\xf0\x80\x80\xaf", 0},     // overlong 4-byte form
      {"\xed\xa0\x80", 0},         // U+D800, a surrogate
      {"\xf4\x90\x80\x80", 0},     // U+110000, past the last code point
      {"\xf5\x80\x80\x80", 0},     // a lead byte that never appears
      {"\xff", 0},
      {"ok\xe2\x9c", 2},           // cut off
      {"\xc3\x28", 0},             // a lead followed by ASCII
      {"\xe2\x9c\x28", 0},         // bad third byte
  };
  for (const Case& c : cases) {
    std::size_t bad = 999;
    BOOST_TEST(!is_utf8(c.text, &bad), c.text);
    BOOST_TEST(bad == c.bad, c.text);
  }
}

BOOST_AUTO_TEST_CASE(printable_escapes_control_characters_and_shortens_long_names) {
  BOOST_TEST(printable("layer.0.weight") == "layer.0.weight");
  BOOST_TEST(printable(std::string_view("a\nb\0c\x7f", 6)) == "a\\x0ab\\x00c\\x7f");
  const std::string x64(64, 'x');  // expected texts through fmt: GCC 12 warns falsely on string + "..." at -O1
  BOOST_TEST(printable(std::string(100, 'x')) == fmt::format("{}... (100 bytes)", x64));
  BOOST_TEST(printable(std::string(64, 'x')) == std::string(64, 'x'));
  // A 2-byte character straddling the cut is dropped whole, not cut in half.
  BOOST_TEST(printable(fmt::format("{}\xc3\xa9tail", std::string(63, 'x'))) == fmt::format("{}... (69 bytes)", std::string(63, 'x')));
}

BOOST_AUTO_TEST_SUITE_END()

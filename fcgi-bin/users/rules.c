/*
 * rules.c - the users service's pure validation rules: email shape and
 * normalisation, password rules with a list of common passwords, ISO 3166-1
 * alpha-2 country codes, phone syntax. No I/O; unit-tested directly.
 */
#include "users.h"

#include <stdlib.h>
#include <string.h>

#include <arcade/address.h>
#include <arcade/json.h>

/* ---- email ----------------------------------------------------------------- */

static bool
ascii_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool
email_normalize(const char *in, size_t len, char *out, size_t *out_len)
{
    while (len > 0 && ascii_space(in[0])) {
        in++;
        len--;
    }
    while (len > 0 && ascii_space(in[len - 1]))
        len--;
    size_t at = len, ats = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : (char)c;
        if (c <= 0x20 || c == 0x7f)
            return false;
        /* C1 controls U+0080..U+009F are encoded C2 80..C2 9F. */
        if (c == 0xc2 && i + 1 < len && (unsigned char)in[i + 1] <= 0x9f)
            return false;
        if (c == '@') {
            at = i;
            ats++;
        }
    }
    out[len] = '\0';
    *out_len = len;
    if (ats != 1 || at == 0 || arc_utf8_chars(out, len) > EMAIL_MAX)
        return false;
    /* The domain: labels separated by dots, at least two, none empty. */
    const char *d = out + at + 1;
    size_t dlen = len - at - 1;
    if (dlen < 3 || d[0] == '.' || d[dlen - 1] == '.' || memchr(d, '.', dlen) == NULL)
        return false;
    for (size_t i = 1; i < dlen; i++)
        if (d[i] == '.' && d[i - 1] == '.')
            return false;
    return true;
}

/* ---- passwords ------------------------------------------------------------- */

/* Common passwords of at least PASSWORD_MIN characters (shorter ones fail the
 * length rule anyway), lower case, sorted by byte value (LC_ALL=C sort): the
 * usual top lists (keyboard walks, digit runs, "password" variants, names,
 * sports, years). Checked with bsearch after lower-casing ASCII letters. */
const char *const common_passwords[] = {
    "!qaz2wsx",     "00000000",       "000000000",    "0000000000",    "01234567",
    "0123456789",   "11111111",       "111111111",    "1111111111",    "11112222",
    "11223344",     "112233445566",   "11qqaazz",     "12121212",      "123123123",
    "123321123",    "12341234",       "12344321",     "123454321",     "1234554321",
    "12345678",     "123456789",      "1234567890",   "12345678910",   "123456789a",
    "1234567a",     "1234567q",       "12345qwert",   "1234abcd",      "1234asdf",
    "1234qwer",     "123qweasd",      "123qweasdzxc", "12qwaszx",      "147258369",
    "159753456",    "1a2b3c4d",       "1password",    "1q1q1q1q",      "1q2w3e4r",
    "1q2w3e4r5t",   "1q2w3e4r5t6y",   "1qa2ws3ed",    "1qaz1qaz",      "1qaz2wsx",
    "1qaz2wsx3edc", "1qaz@wsx",       "1qazxsw2",     "22222222",      "2wsx3edc",
    "33333333",     "3edc4rfv",       "44444444",     "4rfv5tgb",      "5201314520",
    "55555555",     "66666666",       "66668888",     "741852963",     "77777777",
    "87654321",     "88888888",       "963852741",    "987654321",     "9876543210",
    "99999999",     "a1234567",       "a12345678",    "a123456789",    "a1b2c3d4",
    "aa123456",     "aaaaaaaa",       "abc12345",     "abc123456",     "abcabc123",
    "abcd1234",     "abcd12345",      "abcdef123",    "abcdefg1",      "abcdefgh",
    "admin123",     "admin1234",      "adminadmin",   "administrator", "alexander",
    "andrew12",     "anthony1",       "arsenal1",     "asdasdasd",     "asdf1234",
    "asdfasdf",     "asdfghjk",       "asdfghjkl",    "asdfghjkl;",    "asdfqwer",
    "autumn2024",   "azerty123",      "azertyuiop",   "bailey12",      "banana12",
    "barcelona",    "baseball",       "baseball1",    "basketball",    "batman12",
    "batman123",    "beautiful",      "benjamin",     "blessed1",      "blink182",
    "buster12",     "butterfly",      "california",   "changeme",      "changeme1",
    "charles1",     "charlie1",       "cheese12",     "chelsea1",      "cherry12",
    "chicago1",     "chicken1",       "chocolate",    "christian",     "computer",
    "computer1",    "contrasena",     "cookie123",    "corvette",      "daniel12",
    "danielle",     "darkness",       "darkside",     "december",      "diamond1",
    "dolphins",     "dragon123",      "elizabeth",    "ferrari1",      "football",
    "football!",    "football1",      "football123",  "fortnite",      "freedom1",
    "gangster",     "ginger12",       "godisgood",    "golden12",      "golfer12",
    "guest123",     "hannah12",       "happy123",     "happyday",      "hello123",
    "hellokitty",   "helloworld",     "hockey12",     "iamthebest",    "iloveu123",
    "iloveyou",     "iloveyou!",      "iloveyou1",    "iloveyou123",   "iloveyou2",
    "internet",     "internet1",      "ironman1",     "january1",      "jasmine1",
    "jennifer",     "jessica1",       "jesus123",     "jesuschrist",   "jonathan",
    "jordan23",     "joshua12",       "killer123",    "letmein!",      "letmein1",
    "letmein123",   "letmeinnow",     "liverpool",    "liverpool1",    "lkjhgfdsa",
    "lovelove",     "lovely123",      "loveyou1",     "maggie12",      "manchester",
    "master123",    "matthew1",       "maverick",     "mercedes",      "michael1",
    "michael12",    "michelle",       "midnight",     "minecraft",     "mnbvcxz1",
    "monkey123",    "moonlight",      "motdepasse",   "mustang1",      "mypassword",
    "newyork1",     "nicholas",       "nintendo",     "nopassword",    "november",
    "opensesame",   "orange12",       "overwatch",    "p@55w0rd",      "p@ssw0rd",
    "p@ssw0rd1",    "p@ssword",       "pa$$word",     "pa55w0rd",      "pa55word",
    "pass1234",     "pass12345",      "passpass",     "passw0rd",      "passw0rd1",
    "passwd123",    "password",       "password!",    "password01",    "password1",
    "password11",   "password12",     "password123",  "password1234",  "password2",
    "password2020", "password2021",   "password2022", "password2023",  "password2024",
    "password2025", "password2026",   "password3",    "password99",    "passwort",
    "patrick1",     "peaceout",       "pepper12",     "phoenix1",      "playstation",
    "poiuytrewq",   "pokemon1",       "pokemon123",   "pokemongo",     "princess",
    "princess1",    "princess123",    "purple12",     "q1w2e3r4",      "q1w2e3r4t5",
    "q1w2e3r4t5y6", "q1w2e3r4t5y6u7", "qazwsx123",    "qazwsxedc",     "qwe123qwe",
    "qweasd123",    "qweasdzxc",      "qweqweqwe",    "qwer1234",      "qwerqwer",
    "qwert12345",   "qwerty11",       "qwerty12",     "qwerty123",     "qwerty1234",
    "qwerty123456", "qwerty2020",     "qwerty2021",   "qwertyqwerty",  "qwertyu1",
    "qwertyui",     "qwertyuiop",     "qwertyuiop[]", "rainbow1",      "richard1",
    "robert12",     "rockyou1",       "root1234",     "rootroot",      "runner12",
    "samantha",     "sandiego",       "sanfrancisco", "scooter1",      "secret123",
    "senha123",     "september",      "shadow123",    "silver12",      "snoopy12",
    "snowball",     "soccer12",       "sparky12",     "spiderman",     "spring2024",
    "starcraft",    "starlight",      "starwars",     "starwars1",     "summer12",
    "summer2020",   "summer2021",     "summer2022",   "summer2023",    "summer2024",
    "sunflower",    "sunshine",       "sunshine1",    "superman",      "superman1",
    "superman123",  "superstar",      "tennis12",     "test1234",      "test12345",
    "testtest",     "thisisit",       "thomas123",    "thunder1",      "tinkerbell",
    "trustno1",     "trustno1!",      "unknown1",     "victoria",      "warcraft",
    "washington",   "welcome1",       "welcome123",   "welcome2020",   "welcome2021",
    "welcome2023",  "welcome2024",    "whatever",     "whatever!",     "whatever1",
    "william1",     "winter2020",     "winter2021",   "winter2022",    "winter2023",
    "winter2024",   "woaini1314",     "xsw21qaz",     "yellow12",      "yourpassword",
    "zaq12345",     "zaq12wsx",       "zaq1xsw2",     "zaq1zaq1",      "zxcasdqwe",
    "zxcv1234",     "zxcvasdf",       "zxcvbnm,",     "zxcvbnm1",      "zxcvbnm123",
    "zxcvbnmasdf",
};
const size_t common_passwords_count = ARC_ARRAY_LEN(common_passwords);

#define COMMON_MAX_BYTES 32 /* longer than every entry */

static int
cmp_str(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

bool
password_is_common(const char *pw, size_t len)
{
    char lower[COMMON_MAX_BYTES + 1];
    if (len > COMMON_MAX_BYTES)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = pw[i];
        if (c == '\0')
            return false;
        lower[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    lower[len] = '\0';
    return bsearch(lower, common_passwords, common_passwords_count, sizeof common_passwords[0],
                   cmp_str) != NULL;
}

const char *
password_problem(const char *pw, size_t len)
{
    size_t chars = arc_utf8_chars(pw, len);
    if (chars < PASSWORD_MIN || chars > PASSWORD_MAX)
        return "must be 8 to 1024 characters";
    if (password_is_common(pw, len))
        return "is too common; choose another";
    return NULL;
}

/* ---- countries and phones -------------------------------------------------- */

bool
country_known(const char *code, size_t len)
{
    return arc_country_known(code, len);
}

bool
phone_valid(const char *s, size_t len)
{
    return arc_phone_valid(s, len);
}

using System.Text;
using HttpCache.Engine.Http;
using HttpCache.Engine.Policy;

namespace HttpCache.Engine.Tests.Http;

public sealed class CacheKeyTests
{
    private static KeyValuePair<string, string> V(string name, string value) => new(name, value);

    [Theory]
    [InlineData("HTTP://Example.COM/Path", "http://example.com/Path")]
    [InlineData("https://EXAMPLE.com/A/b/C", "https://example.com/A/b/C")]
    [InlineData("http://example.com", "http://example.com/")]
    [InlineData("http://example.com:80/x", "http://example.com/x")]
    [InlineData("https://example.com:443/x", "https://example.com/x")]
    [InlineData("http://example.com:443/x", "http://example.com:443/x")]
    [InlineData("https://example.com:80/x", "https://example.com:80/x")]
    [InlineData("https://example.com:8443/x", "https://example.com:8443/x")]
    [InlineData("http://example.com/x?b=2&a=1", "http://example.com/x?a=1&b=2")]
    [InlineData("http://example.com/x?z=1&a=2&m=3", "http://example.com/x?a=2&m=3&z=1")]
    [InlineData("http://example.com/x?a=2&a=1", "http://example.com/x?a=1&a=2")]
    [InlineData("http://example.com/x?a=1&&b=2&", "http://example.com/x?a=1&b=2")]
    [InlineData("http://example.com/x?", "http://example.com/x")]
    [InlineData("http://example.com/x?q=a%20b&p=%2F", "http://example.com/x?p=%2F&q=a%20b")]
    [InlineData("http://example.com/x#fragment", "http://example.com/x")]
    [InlineData("http://example.com/x?b=1#frag?a=2", "http://example.com/x?b=1")]
    [InlineData("http://example.com/a b", "http://example.com/a%20b")]
    [InlineData("http://[::1]:8080/x", "http://[::1]:8080/x")]
    [InlineData("http://[::1]/x", "http://[::1]/x")]
    [InlineData("http://[FE80::AB:1]:80/x", "http://[fe80::ab:1]/x")]
    [InlineData("http://127.0.0.1:5000/x", "http://127.0.0.1:5000/x")]
    public void NormalizeUrl(string url, string expected)
    {
        Assert.Equal(expected, CacheKey.NormalizeUrl(new Uri(url)));
    }

    [Fact]
    public void NormalizeUrl_refuses_a_relative_URL()
    {
        Assert.Throws<ArgumentException>(() => CacheKey.NormalizeUrl(new Uri("/relative", UriKind.Relative)));
    }

    [Fact]
    public void Primary_is_stable_across_releases()
    {
        // The documented format: first 16 bytes of SHA-256 over "GET\x1e<normalized URL>\x1e<body digest>",
        // computed outside .NET (printf ... | sha256sum). A change here orphans every user's cache: change
        // this value only together with a format version note.
        var key = CacheKey.Primary("GET", new Uri("HTTPS://Example.com:443/a/B?y=2&x=1#top"), null);

        Assert.Equal("39849113e0abab25ec8fdbc44812e9ed", key);
    }

    [Fact]
    public void Primary_with_a_body_is_stable_across_releases()
    {
        var key = CacheKey.Primary("POST", new Uri("https://example.com/api"), Encoding.UTF8.GetBytes("hello"));

        Assert.Equal("20b4204f535159cb400bb3eb73510f1f", key);
    }

    [Fact]
    public void Variant_is_stable_across_releases()
    {
        var key = CacheKey.Variant("39849113e0abab25ec8fdbc44812e9ed", [V("Accept-Language", "en"), V("Accept", "text/html")]);

        Assert.Equal("39849113e0abab25ec8fdbc44812e9ed.033480cc649659f5", key);
    }

    [Fact]
    public void Primary_is_32_lower_case_hex_digits()
    {
        var key = CacheKey.Primary("GET", new Uri("http://example.com/"), null);

        Assert.Matches("^[0-9a-f]{32}$", key);
    }

    [Theory]
    [InlineData("http://example.com/x?a=1&b=2", "HTTP://EXAMPLE.COM:80/x?b=2&a=1#f")]
    [InlineData("http://[::1]:9000/x", "http://[0:0:0:0:0:0:0:1]:9000/x")]
    public void Equivalent_URLs_share_a_key(string one, string other)
    {
        Assert.Equal(CacheKey.Primary("GET", new Uri(one), null), CacheKey.Primary("GET", new Uri(other), null));
    }

    [Theory]
    [InlineData("http://example.com/x", "http://example.com/X")]
    [InlineData("http://example.com/x", "https://example.com/x")]
    [InlineData("http://example.com/x", "http://example.com:8080/x")]
    [InlineData("http://example.com/x?a=1", "http://example.com/x?a=2")]
    [InlineData("http://example.com/x", "http://example.org/x")]
    public void Different_resources_have_different_keys(string one, string other)
    {
        Assert.NotEqual(CacheKey.Primary("GET", new Uri(one), null), CacheKey.Primary("GET", new Uri(other), null));
    }

    [Fact]
    public void The_method_changes_the_key_but_not_its_case()
    {
        var uri = new Uri("http://example.com/x");

        Assert.NotEqual(CacheKey.Primary("GET", uri, null), CacheKey.Primary("HEAD", uri, null));
        Assert.NotEqual(CacheKey.Primary("GET", uri, null), CacheKey.Primary("POST", uri, null));
        Assert.Equal(CacheKey.Primary("GET", uri, null), CacheKey.Primary("get", uri, null));
    }

    [Fact]
    public void The_body_digest_changes_the_key()
    {
        var uri = new Uri("http://example.com/x");

        var a = CacheKey.Primary("POST", uri, Encoding.UTF8.GetBytes("{\"q\":1}"));
        var b = CacheKey.Primary("POST", uri, Encoding.UTF8.GetBytes("{\"q\":2}"));
        var none = CacheKey.Primary("POST", uri, null);

        Assert.NotEqual(a, b);
        Assert.NotEqual(a, none);
        Assert.Equal(a, CacheKey.Primary("POST", uri, Encoding.UTF8.GetBytes("{\"q\":1}")));
    }

    [Fact]
    public void An_empty_body_is_no_body()
    {
        var uri = new Uri("http://example.com/x");

        Assert.Equal(CacheKey.Primary("POST", uri, null), CacheKey.Primary("POST", uri, []));
    }

    [Fact]
    public void The_separator_keeps_method_and_URL_apart()
    {
        // "GET" + "http://a/" must not collide with a method that swallows part of the URL.
        Assert.NotEqual(
            CacheKey.Primary("GET", new Uri("http://a.example/x"), null),
            CacheKey.Primary("GETH", new Uri("http://a.example/x"), null));
    }

    [Fact]
    public void A_variant_without_vary_values_is_the_primary_key()
    {
        Assert.Equal("abc", CacheKey.Variant("abc", []));
    }

    [Fact]
    public void Variant_does_not_depend_on_header_order()
    {
        var one = CacheKey.Variant("p", [V("Accept", "text/html"), V("Accept-Language", "en")]);
        var other = CacheKey.Variant("p", [V("Accept-Language", "en"), V("Accept", "text/html")]);

        Assert.Equal(one, other);
    }

    [Fact]
    public void Variant_does_not_depend_on_header_name_case()
    {
        Assert.Equal(CacheKey.Variant("p", [V("Accept", "text/html")]), CacheKey.Variant("p", [V("accept", "text/html")]));
    }

    [Theory]
    [InlineData("text/html", "text/plain")]
    [InlineData("text/html", "TEXT/HTML")]
    [InlineData("", "text/html")]
    public void Variant_changes_with_the_values(string one, string other)
    {
        Assert.NotEqual(CacheKey.Variant("p", [V("Accept", one)]), CacheKey.Variant("p", [V("Accept", other)]));
    }

    [Fact]
    public void Variant_keeps_name_and_value_apart()
    {
        // ("a", "bc") and ("ab", "c") must not join alike.
        Assert.NotEqual(CacheKey.Variant("p", [V("a", "bc")]), CacheKey.Variant("p", [V("ab", "c")]));
        Assert.NotEqual(CacheKey.Variant("p", [V("a", "b"), V("c", "d")]), CacheKey.Variant("p", [V("a", "bc"), V("d", "")]));
    }

    [Fact]
    public void Variant_starts_with_its_primary_key()
    {
        Assert.StartsWith("primary.", CacheKey.Variant("primary", [V("Accept", "x")]), StringComparison.Ordinal);
    }

    private static readonly CacheSettings Ignored = CacheSettings.Default with { ExcludeFromKey = new HashSet<string> { "api_key", "token" } };

    [Theory]
    [InlineData("http://example.com/x?api_key=1&a=2", "http://example.com/x?a=2")]
    [InlineData("http://example.com/x?API_KEY=1&a=2", "http://example.com/x?a=2")]
    [InlineData("http://example.com/x?api_key=1", "http://example.com/x")]
    [InlineData("http://example.com/x?api%5Fkey=1&b=1", "http://example.com/x?b=1")]
    [InlineData("http://example.com/x?token&b=1", "http://example.com/x?b=1")]
    [InlineData("http://example.com/x?tokens=1", "http://example.com/x?tokens=1")]
    public void NormalizeUrl_leaves_ignored_parameters_out(string url, string expected)
    {
        Assert.Equal(expected, CacheKey.NormalizeUrl(new Uri(url), Ignored));
    }

    [Fact]
    public void Parameters_excluded_from_the_key_never_change_it()
    {
        var one = CacheKey.Primary("GET", new Uri("http://example.com/x?a=1&api_key=secret1"), null, null, Ignored);
        var other = CacheKey.Primary("GET", new Uri("http://example.com/x?api_key=secret2&a=1"), null, null, Ignored);
        var without = CacheKey.Primary("GET", new Uri("http://example.com/x?a=1"), null, null, Ignored);

        Assert.Equal(one, other);
        Assert.Equal(one, without);
        Assert.Equal(without, CacheKey.Primary("GET", new Uri("http://example.com/x?a=1"), null));
    }

    [Theory]
    [InlineData("http://example.com/x?api_key=secret&a=1", "http://example.com/x?api_key=REDACTED&a=1")]
    [InlineData("http://example.com/x?a=1", "http://example.com/x?a=1")]
    [InlineData("http://example.com/x?token&a=1", "http://example.com/x?token=REDACTED&a=1")]
    public void RedactUrl_hides_the_values_of_ignored_parameters(string url, string expected)
    {
        Assert.Equal(expected, CacheKey.RedactUrl(new Uri(url), Ignored));
    }

    [Theory]
    [InlineData("{\"b\":1,\"a\":2}", "{\"a\":2,\"b\":1}")]
    [InlineData("{ \"a\" : 2 , \"b\" : 1 }", "{\"b\":1,\"a\":2}")]
    [InlineData("{\"a\":2,\"token\":\"x\"}", "{\"a\":2,\"token\":\"y\"}")]
    [InlineData("{\"a\":2}", "{\"a\":2,\"api_key\":\"k\"}")]
    [InlineData("{\"o\":{\"y\":1,\"x\":[1,2]}}", "{\"o\":{\"x\":[1,2],\"y\":1}}")]
    public void JSON_bodies_key_alike_whatever_their_order_spacing_and_ignored_fields(string one, string other)
    {
        Assert.Equal(PostKey(one, "application/json"), PostKey(other, "application/json; charset=utf-8"));
    }

    [Theory]
    [InlineData("{\"a\":[1,2]}", "{\"a\":[2,1]}")]
    [InlineData("{\"a\":1}", "{\"a\":\"1\"}")]
    [InlineData("{\"a\":1}", "{\"A\":1}")]
    public void JSON_bodies_that_differ_in_meaning_key_apart(string one, string other)
    {
        Assert.NotEqual(PostKey(one, "application/json"), PostKey(other, "application/json"));
    }

    [Fact]
    public void Invalid_JSON_is_keyed_as_it_is()
    {
        Assert.NotEqual(PostKey("{\"a\":1", "application/json"), PostKey("{\"a\":1 ", "application/json"));
    }

    [Theory]
    [InlineData("b=1&a=2", "a=2&b=1")]
    [InlineData("a=2&token=x", "a=2&token=y")]
    [InlineData("a=2", "token=z&a=2")]
    public void Form_bodies_key_alike_whatever_their_order_and_ignored_fields(string one, string other)
    {
        Assert.Equal(PostKey(one, "application/x-www-form-urlencoded"), PostKey(other, "application/x-www-form-urlencoded"));
    }

    [Fact]
    public void Other_bodies_are_keyed_byte_for_byte()
    {
        Assert.NotEqual(PostKey("b=1&a=2", "text/plain"), PostKey("a=2&b=1", "text/plain"));
    }

    private static string PostKey(string body, string contentType) =>
        CacheKey.Primary("POST", new Uri("http://example.com/api"), Encoding.UTF8.GetBytes(body), contentType.Split(';')[0], Ignored);
}

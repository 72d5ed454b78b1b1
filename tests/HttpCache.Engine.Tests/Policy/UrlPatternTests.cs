using System.Text.RegularExpressions;
using HttpCache.Engine.Policy;

namespace HttpCache.Engine.Tests.Policy;

/// <summary>Per-URL patterns as requests-cache defines them: globs on the scheme-less URL as a prefix, regexes on the whole URL.</summary>
public sealed class UrlPatternTests
{
    [Theory]
    [InlineData("site.com/resource/", "https://site.com/resource/1", true)]
    [InlineData("site.com/resource/", "http://site.com/resource/2/3?x=1", true)]
    [InlineData("site.com/resource/", "https://site.com/other/", false)]
    [InlineData("site.com/resource/", "https://api.site.com/resource/1", false)]
    [InlineData("*.site.com", "https://api.site.com/anything", true)]
    [InlineData("*.site.com", "https://a.b.site.com/", true)]
    [InlineData("*.site.com", "https://site.com/", false)]
    [InlineData("site.com", "https://site.com.evil.example/", true)] // a prefix match, as requests-cache's '**'
    [InlineData("https://site.com/api", "http://site.com/api/v1", true)] // a scheme in a glob is ignored
    [InlineData("SITE.com/API", "https://site.com/api/x", true)] // case-insensitive
    [InlineData("site.com/v?/", "https://site.com/v2/users", true)]
    [InlineData("site.com/v[12]/", "https://site.com/v3/users", false)]
    [InlineData("site.com/v[!3]/", "https://site.com/v1/users", true)]
    [InlineData("127.0.0.1:*/api/*", "http://127.0.0.1:5000/api/items", true)]
    [InlineData("*", "https://anything.example/", true)]
    public void A_glob_matches_the_scheme_less_url_as_a_prefix(string glob, string url, bool expected) =>
        Assert.Equal(expected, UrlPattern.Glob(glob).IsMatch(new Uri(url)));

    [Theory]
    [InlineData(@"^https://site\.com/api/v\d+/", "https://site.com/api/v2/users", true)]
    [InlineData(@"^https://site\.com/api/v\d+/", "http://site.com/api/v2/users", false)] // regexes see the scheme
    [InlineData(@"\.json$", "https://site.com/data.json", true)]
    [InlineData(@"\.json$", "https://site.com/data.json?x=1", false)]
    [InlineData("users", "https://site.com/api/USERS", true)] // searched, case-insensitive
    public void A_regex_is_searched_for_in_the_whole_url(string pattern, string url, bool expected)
    {
        Assert.Equal(expected, UrlPattern.FromRegex(pattern).IsMatch(new Uri(url)));
        Assert.Equal(expected, UrlPattern.FromRegex(new Regex(pattern, RegexOptions.IgnoreCase)).IsMatch(new Uri(url)));
    }

    [Fact]
    public void A_regex_that_runs_away_is_no_match_instead_of_a_hang()
    {
        var evil = UrlPattern.FromRegex(@"^(a+)+$");
        var url = new Uri("https://site.com/?" + new string('a', 40) + "!");

        Assert.False(evil.IsMatch(url));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void An_empty_glob_is_refused(string glob) =>
        Assert.ThrowsAny<ArgumentException>(() => UrlPattern.Glob(glob));

    [Fact]
    public void A_regex_that_does_not_parse_is_refused() =>
        Assert.ThrowsAny<ArgumentException>(() => UrlPattern.FromRegex("("));

    [Fact]
    public void The_first_matching_rule_wins_and_no_match_falls_through()
    {
        var settings = CacheSettings.Default with
        {
            UrlExpireAfter =
            [
                new UrlExpiration(UrlPattern.Glob("site.com/static/"), Expiration.NeverExpire),
                new UrlExpiration(UrlPattern.Glob("site.com/"), Expiration.After(TimeSpan.FromMinutes(5))),
                new UrlExpiration(UrlPattern.Glob("*"), Expiration.DoNotCache),
            ],
        };

        Assert.Equal(Expiration.NeverExpire, CachePolicy.UrlExpiration(new Uri("https://site.com/static/app.js"), settings));
        Assert.Equal(Expiration.After(TimeSpan.FromMinutes(5)), CachePolicy.UrlExpiration(new Uri("https://site.com/api"), settings));
        Assert.Equal(Expiration.DoNotCache, CachePolicy.UrlExpiration(new Uri("https://other.example/"), settings));
        Assert.Null(CachePolicy.UrlExpiration(new Uri("https://x.example/"), CacheSettings.Default));
    }
}

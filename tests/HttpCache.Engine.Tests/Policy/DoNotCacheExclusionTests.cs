using System.Net;
using HttpCache.Engine.Policy;
using static HttpCache.Engine.Tests.Policy.PolicyData;

namespace HttpCache.Engine.Tests.Policy;

/// <summary>
/// DoNotCache from the user's rules is an exclusion: it keeps an answer out of the store whatever the
/// origin's Cache-Control says, while any other user lifetime still ranks below the origin's.
/// </summary>
public sealed class DoNotCacheExclusionTests
{
    private const string MaxAge = "Cache-Control: max-age=600";

    private static StoreDecision Decide(CacheSettings settings, string url = Url, Expiration? perRequest = null, params string[] responseHeaders)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        using var response = Response(HttpStatusCode.OK, responseHeaders);
        return CachePolicy.Store(request, response, settings, new CacheRequestOptions { ExpireAfter = perRequest }, Now, Now);
    }

    private static UrlExpiration Rule(string glob, Expiration expiration) => new(UrlPattern.Glob(glob), expiration);

    [Fact]
    public void A_deny_list_pattern_wins_over_the_origins_max_age()
    {
        var settings = CacheSettings.Default with { UrlExpireAfter = [Rule("api.example.com/status", Expiration.DoNotCache)] };

        var denied = Decide(settings, "https://api.example.com/status", null, MaxAge);
        var other = Decide(settings, "https://api.example.com/items", null, MaxAge);

        Assert.False(denied.Store);
        Assert.Equal(CacheReason.NotStorableDoNotCache, denied.Reason);
        Assert.True(other.Store);
        Assert.Equal(Now + Seconds(600), other.ExpiresAt);
    }

    [Fact]
    public void An_allow_list_with_a_catch_all_pattern_keeps_other_sites_out_despite_max_age()
    {
        var settings = CacheSettings.Default with
        {
            UrlExpireAfter = [Rule("*.site_1.com", Expiration.After(Seconds(3600))), Rule("*", Expiration.DoNotCache)],
        };

        var allowed = Decide(settings, "https://www.site_1.com/a", null, MaxAge);
        var excluded = Decide(settings, "https://elsewhere.example/a", null, MaxAge);

        Assert.True(allowed.Store);
        Assert.Equal(Now + Seconds(600), allowed.ExpiresAt); // the origin's max-age still outranks the pattern's hour
        Assert.Equal(CacheReason.NotStorableDoNotCache, excluded.Reason);
    }

    [Fact]
    public void An_allow_list_with_a_session_DoNotCache_keeps_other_sites_out_despite_max_age()
    {
        var settings = CacheSettings.Default with
        {
            ExpireAfter = Expiration.DoNotCache,
            UrlExpireAfter = [Rule("*.site_1.com", Expiration.After(Seconds(3600)))],
        };

        Assert.True(Decide(settings, "https://www.site_1.com/a", null, MaxAge).Store);
        Assert.Equal(CacheReason.NotStorableDoNotCache, Decide(settings, "https://elsewhere.example/a", null, MaxAge).Reason);
        Assert.Equal(CacheReason.NotStorableDoNotCache, Decide(settings, "https://elsewhere.example/a", null, "Expires: Wed, 15 Jan 2025 13:00:00 GMT", "Date: Wed, 15 Jan 2025 12:00:00 GMT").Reason);
    }

    [Fact]
    public void A_per_request_or_session_DoNotCache_wins_over_response_and_request_max_age()
    {
        using var request = Request("Cache-Control: max-age=50");
        using var response = Response(MaxAge);
        var session = CacheSettings.Default with { ExpireAfter = Expiration.DoNotCache };

        Assert.Equal(CacheReason.NotStorableDoNotCache, CachePolicy.Store(request, response, session, CacheRequestOptions.Default, Now, Now).Reason);
        Assert.Equal(CacheReason.NotStorableDoNotCache, Decide(CacheSettings.Default, Url, Expiration.DoNotCache, MaxAge).Reason);
    }

    [Fact]
    public void A_callback_returning_DoNotCache_wins_over_max_age_and_no_cache()
    {
        var settings = CacheSettings.Default with { ExpireAfterCallback = _ => Expiration.DoNotCache };

        Assert.Equal(CacheReason.NotStorableDoNotCache, Decide(settings, Url, null, MaxAge).Reason);
        Assert.Equal(CacheReason.NotStorableDoNotCache, Decide(settings, Url, null, "Cache-Control: no-cache").Reason);
    }

    [Fact]
    public void A_callback_is_asked_even_when_the_origin_gives_a_lifetime_and_its_lifetime_still_ranks_below()
    {
        var calls = 0;
        var settings = CacheSettings.Default with { ExpireAfterCallback = _ => { calls++; return Expiration.After(Seconds(5)); } };

        var decision = Decide(settings, Url, null, MaxAge);

        Assert.Equal(1, calls);
        Assert.Equal(Now + Seconds(600), decision.ExpiresAt);
    }

    [Fact]
    public void A_more_specific_lifetime_lifts_a_session_DoNotCache()
    {
        var settings = CacheSettings.Default with
        {
            ExpireAfter = Expiration.DoNotCache,
            StatusExpireAfter = new Dictionary<int, Expiration> { [200] = Expiration.After(Seconds(30)) },
        };

        Assert.True(Decide(settings, Url, null, MaxAge).Store);
        Assert.True(Decide(CacheSettings.Default with { ExpireAfter = Expiration.DoNotCache }, Url, Expiration.After(Seconds(9))).Store);
    }

    [Fact]
    public void A_pattern_DoNotCache_holds_even_when_the_heuristic_would_give_a_lifetime()
    {
        var settings = CacheSettings.Default with { HeuristicFreshness = true, ExpireAfter = Expiration.DoNotCache };

        var decision = Decide(settings, Url, null, "Last-Modified: Tue, 14 Jan 2025 12:00:00 GMT", "Date: Wed, 15 Jan 2025 12:00:00 GMT");

        Assert.Equal(CacheReason.NotStorableDoNotCache, decision.Reason);
    }

    [Fact]
    public void Without_DoNotCache_the_origins_max_age_still_wins_over_the_users_lifetimes()
    {
        var settings = CacheSettings.Default with
        {
            ExpireAfter = Expiration.After(Seconds(10)),
            UrlExpireAfter = [Rule("example.test", Expiration.After(Seconds(20)))],
        };

        Assert.Equal(Now + Seconds(600), Decide(settings, Url, null, MaxAge).ExpiresAt);
    }
}

using System.Net;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Http;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;
using HttpCache.Testing;
using Microsoft.AspNetCore.Http;

namespace HttpCache.Engine.Tests.Http;

public sealed partial class CachingHandlerTests
{
    // ---- Per-request expiration ----

    [Fact]
    public async Task Per_request_ExpireAfter_sets_the_lifetime_over_the_session()
    {
        await using var cache = CacheHarness.Create(settings: CacheSettings.Default with { ExpireAfter = Expiration.After(30 * Second) });
        var path = MapNew("per-request", OriginBehaviors.Counter());
        var other = MapNew("session-lifetime", OriginBehaviors.Counter());

        var first = await cache.GetAsync(origin.Url(path), Expire(Expiration.After(10 * Second)));
        var sessionLifetime = await cache.GetAsync(origin.Url(other));
        cache.Clock.Advance(11 * Second);
        var expired = await cache.GetAsync(origin.Url(path));
        var stillFresh = await cache.GetAsync(origin.Url(other));

        Assert.Equal(T0 + 10 * Second, first.Info.ExpiresAt);
        Assert.Equal(T0 + 30 * Second, sessionLifetime.Info.ExpiresAt);
        Assert.Equal(CacheReason.MissExpired, expired.Info.Reason);
        Assert.Equal("2", expired.Body);
        Assert.Equal(CacheReason.FreshHit, stillFresh.Info.Reason);
    }

    [Fact]
    public async Task ExpireImmediately_is_stored_and_revalidated_at_every_use()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("immediately", OriginBehaviors.ETag("\"e1\""));
        var options = Expire(Expiration.ExpireImmediately);

        var first = await cache.GetAsync(origin.Url(path), options);
        var uses = new List<Answer>();
        for (var i = 0; i < 3; i++)
        {
            uses.Add(await cache.GetAsync(origin.Url(path), options));
        }

        Assert.Equal(CacheReason.Stored, first.Info.StoreReason);
        Assert.Equal(T0, first.Info.ExpiresAt);
        Assert.Equal(4, origin.RequestCount(path));
        Assert.All(origin.Requests(path).Skip(1), r => Assert.Equal("\"e1\"", r.Header("If-None-Match")));
        Assert.All(uses, u => Assert.True(u.Info.Revalidated));
        Assert.All(uses, u => Assert.Equal("1", u.Body));
        Assert.Equal(3, cache.Counters.Revalidations);
    }

    [Fact]
    public async Task Session_ExpireImmediately_without_validators_fetches_at_every_use()
    {
        await using var cache = CacheHarness.Create(settings: CacheSettings.Default with { ExpireAfter = Expiration.ExpireImmediately });
        var path = MapNew("immediately-plain", OriginBehaviors.Counter());

        var bodies = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            bodies.Add((await cache.GetAsync(origin.Url(path))).Body);
        }

        Assert.Equal(["1", "2", "3"], bodies);
        Assert.Single(await cache.EntriesAsync());
    }

    [Fact]
    public async Task Per_request_DoNotCache_is_not_stored()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("do-not-cache", OriginBehaviors.Counter());

        var first = await cache.GetAsync(origin.Url(path), Expire(Expiration.DoNotCache));
        var second = await cache.GetAsync(origin.Url(path), Expire(Expiration.DoNotCache));

        Assert.Equal(CacheReason.NotStorableDoNotCache, first.Info.StoreReason);
        Assert.Equal("2", second.Body);
        Assert.Equal(2, origin.RequestCount(path));
        Assert.Empty(await cache.EntriesAsync());
    }

    // ---- Modes ----

    [Fact]
    public async Task ForceRefresh_fetches_anew_and_stores_the_answer()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("force", OriginBehaviors.ETag("\"f\"", H("Cache-Control: max-age=60")));

        await cache.GetAsync(origin.Url(path));
        var forced = await cache.GetAsync(origin.Url(path), Mode(CacheMode.ForceRefresh));
        var after = await cache.GetAsync(origin.Url(path));

        Assert.Equal(2, origin.RequestCount(path));
        Assert.Null(origin.LastRequest(path)!.Header("If-None-Match"));
        Assert.Equal("2", forced.Body);
        Assert.False(forced.Info.FromCache);
        Assert.Equal(CacheReason.RefreshForced, forced.Info.Reason);
        Assert.Equal(CacheReason.Stored, forced.Info.StoreReason);
        Assert.Equal("2", after.Body);
        Assert.True(after.Info.FromCache);
    }

    [Fact]
    public async Task Refresh_revalidates_a_fresh_answer()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("refresh", OriginBehaviors.ETag("\"r\"", H("Cache-Control: max-age=60")));

        await cache.GetAsync(origin.Url(path));
        var refreshed = await cache.GetAsync(origin.Url(path), Mode(CacheMode.Refresh));

        Assert.Equal(2, origin.RequestCount(path));
        Assert.Equal("\"r\"", origin.LastRequest(path)!.Header("If-None-Match"));
        Assert.Equal("1", refreshed.Body);
        Assert.True(refreshed.Info.FromCache);
        Assert.True(refreshed.Info.Revalidated);
        Assert.Equal(CacheReason.Revalidated, refreshed.Info.Reason);
    }

    [Fact]
    public async Task Refresh_without_a_validator_fetches()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("refresh-plain", OriginBehaviors.MaxAge(60));

        await cache.GetAsync(origin.Url(path));
        var refreshed = await cache.GetAsync(origin.Url(path), Mode(CacheMode.Refresh));

        Assert.Equal("2", refreshed.Body);
        Assert.Equal(CacheReason.RefreshRequested, refreshed.Info.Reason);
        Assert.False(refreshed.Info.FromCache);
        Assert.Equal("2", (await cache.GetAsync(origin.Url(path))).Body);
    }

    [Fact]
    public async Task OnlyIfCached_answers_504_without_reaching_the_origin()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("only-if-cached", OriginBehaviors.MaxAge(60));

        var miss = await cache.GetAsync(origin.Url(path), Mode(CacheMode.OnlyIfCached));
        Assert.Equal(0, origin.RequestCount(path));
        await cache.GetAsync(origin.Url(path));
        var hit = await cache.GetAsync(origin.Url(path), Mode(CacheMode.OnlyIfCached));
        cache.Clock.Advance(61 * Second);
        var stale = await cache.GetAsync(origin.Url(path), Mode(CacheMode.OnlyIfCached));

        Assert.Equal(HttpStatusCode.GatewayTimeout, miss.Response.StatusCode);
        Assert.Equal("Not Cached", miss.Response.ReasonPhrase);
        Assert.Equal(CacheReason.OnlyIfCachedMiss, miss.Info.Reason);
        Assert.Equal(200, hit.Status);
        Assert.Equal("1", hit.Body);
        Assert.Equal(HttpStatusCode.GatewayTimeout, stale.Response.StatusCode);
        Assert.Equal(CacheReason.OnlyIfCachedStale, stale.Info.Reason);
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task Rfc9111_5_2_1_7_The_only_if_cached_directive_answers_504_without_reaching_the_origin()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("only-if-cached-directive", OriginBehaviors.MaxAge(60));

        var miss = await cache.GetAsync(origin.Url(path), null, "Cache-Control: only-if-cached");

        Assert.Equal(504, miss.Status);
        Assert.Equal(0, origin.RequestCount(path));
    }

    [Fact]
    public async Task Rfc9111_5_2_1_2_Max_stale_serves_a_stale_answer_and_counts_it()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("max-stale", OriginBehaviors.MaxAge(60));

        await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(90 * Second);
        var stale = await cache.GetAsync(origin.Url(path), null, "Cache-Control: max-stale=60");

        Assert.Equal(1, origin.RequestCount(path));
        Assert.True(stale.Info.FromCache);
        Assert.True(stale.Info.IsExpired);
        Assert.Equal(CacheReason.StaleHitMaxStale, stale.Info.Reason);
        Assert.Equal("max-stale", stale.Info.StaleReason);
        Assert.Equal(90 * Second, stale.Response.Headers.Age);
        Assert.Equal(1, cache.Counters.StaleServed);
    }

    [Fact]
    public async Task A_request_with_its_own_validators_passes_through_untouched()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("own-validators", OriginBehaviors.ETag("\"mine\"", H("Cache-Control: max-age=60")));

        var answer = await cache.GetAsync(origin.Url(path), null, "If-None-Match: \"mine\"");

        Assert.Equal(304, answer.Status);
        Assert.Equal(CacheReason.BypassConditionalRequest, answer.Info.Reason);
        Assert.Empty(await cache.EntriesAsync());
    }

    // ---- Vary ----

    [Theory]
    [InlineData("Memory")]
    [InlineData("Sqlite")]
    public async Task Rfc9111_4_1_Vary_Accept_keeps_two_variants_that_both_hit(string backend)
    {
        await using var cache = CacheHarness.Create(backend);
        var path = MapNew("vary", context => TestOrigin.WriteAsync(context, 200,
            $"{context.Request.Headers.Accept} #{TestOrigin.RequestNumber(context)}",
            H("Vary: Accept", "Cache-Control: max-age=60")));

        var text1 = await cache.GetAsync(origin.Url(path), null, "Accept: text/plain");
        var json1 = await cache.GetAsync(origin.Url(path), null, "Accept: application/json");
        var text2 = await cache.GetAsync(origin.Url(path), null, "Accept: text/plain");
        var json2 = await cache.GetAsync(origin.Url(path), null, "Accept: application/json");

        Assert.Equal(2, origin.RequestCount(path));
        Assert.Equal("text/plain #1", text2.Body);
        Assert.Equal("application/json #2", json2.Body);
        Assert.True(text2.Info.FromCache);
        Assert.True(json2.Info.FromCache);
        Assert.Equal(text1.Info.CacheKey, text2.Info.CacheKey);
        Assert.Equal(json1.Info.CacheKey, json2.Info.CacheKey);
        Assert.NotEqual(text2.Info.CacheKey, json2.Info.CacheKey);

        var entries = await cache.EntriesAsync();
        Assert.Equal(2, entries.Count);
        Assert.Single(entries.Select(e => e.PrimaryKey).Distinct());
        Assert.All(entries, e => Assert.StartsWith(e.PrimaryKey + ".", e.Key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Rfc9111_4_1_Vary_Accept_a_third_value_is_a_miss()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("vary-miss", OriginBehaviors.Counter(H("Vary: Accept", "Cache-Control: max-age=60")));

        await cache.GetAsync(origin.Url(path), null, "Accept: text/plain");
        var other = await cache.GetAsync(origin.Url(path), null, "Accept: text/html");

        Assert.False(other.Info.FromCache);
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Fact]
    public async Task Rfc9111_4_1_Vary_Accept_Encoding_hits_through_the_default_network_handler()
    {
        // The session's default handler decompresses, and so adds Accept-Encoding to the request on its way
        // out. The variant must be stored for the request as the caller made it, or it can never match again.
        await using var cache = CacheHarness.Create();
        var path = MapNew("vary-encoding", OriginBehaviors.Counter(H("Vary: Accept-Encoding", "Cache-Control: max-age=60")));

        await cache.GetAsync(origin.Url(path));
        var second = await cache.GetAsync(origin.Url(path));

        Assert.True(second.Info.FromCache, $"second request: {second.Info.Reason}");
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task Rfc9111_4_1_Vary_Accept_Encoding_hits_through_a_handler_that_adds_no_headers()
    {
        // The control for the test above: the same exchange through a handler that leaves the request alone.
        await using var cache = CacheHarness.Over(new HttpCache.Engine.Storage.Memory.MemoryCacheStore(), innerHandler: new SocketsHttpHandler());
        var path = MapNew("vary-encoding-plain", OriginBehaviors.Counter(H("Vary: Accept-Encoding", "Cache-Control: max-age=60")));

        await cache.GetAsync(origin.Url(path));
        var second = await cache.GetAsync(origin.Url(path));

        Assert.True(second.Info.FromCache);
        Assert.Null(origin.LastRequest(path)!.Header("Accept-Encoding"));
    }

    [Fact]
    public async Task Rfc9111_4_1_Vary_star_is_never_stored()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("vary-star", OriginBehaviors.Counter(H("Vary: *", "Cache-Control: max-age=60")));

        var first = await cache.GetAsync(origin.Url(path));
        await cache.GetAsync(origin.Url(path));

        Assert.Equal(CacheReason.NotStorableVaryStar, first.Info.StoreReason);
        Assert.Equal(2, origin.RequestCount(path));
    }
}

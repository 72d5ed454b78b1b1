using System.Net;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Http;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;
using HttpCache.Testing;
using Microsoft.AspNetCore.Http;

namespace HttpCache.Engine.Tests.Http;

/// <summary>
/// The caching handler through <see cref="HttpCacheSession"/> against a real Kestrel origin. Time is a
/// <see cref="Microsoft.Extensions.Time.Testing.FakeTimeProvider"/>: expiry comes from advancing it, never from sleeping.
/// </summary>
public sealed class CachingHandlerTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private static readonly DateTimeOffset T0 = CacheHarness.T0;
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    private readonly TestOrigin origin = fixture.Origin;

    private static Dictionary<string, string> H(params string[] lines) =>
        lines.Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);

    private static CacheRequestOptions Expire(Expiration expiration) => new() { ExpireAfter = expiration };

    private static CacheRequestOptions Mode(CacheMode mode) => new() { Mode = mode };

    private string MapNew(string name, RequestDelegate behavior)
    {
        var path = origin.NewPath(name);
        origin.Map(path, behavior);
        return path;
    }

    // ---- Miss, fresh hit, Age ----

    [Theory]
    [InlineData("Memory")]
    [InlineData("Sqlite")]
    public async Task A_miss_then_a_fresh_hit_that_never_reaches_the_origin(string backend)
    {
        await using var cache = CacheHarness.Create(backend);
        var path = MapNew("fresh", OriginBehaviors.MaxAge(60));

        var first = await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(10 * Second);
        var second = await cache.GetAsync(origin.Url(path));

        Assert.Equal(1, origin.RequestCount(path));
        Assert.Equal("1", first.Body);
        Assert.False(first.Info.FromCache);
        Assert.Equal(CacheReason.MissNoEntry, first.Info.Reason);
        Assert.Equal(CacheReason.Stored, first.Info.StoreReason);
        Assert.Equal(T0, first.Info.CreatedAt);
        Assert.Equal(T0 + 60 * Second, first.Info.ExpiresAt);

        Assert.Equal(200, second.Status);
        Assert.Equal("1", second.Body);
        Assert.True(second.Info.FromCache);
        Assert.False(second.Info.Revalidated);
        Assert.False(second.Info.IsExpired);
        Assert.Equal(CacheReason.FreshHit, second.Info.Reason);
        Assert.Equal(first.Info.CacheKey, second.Info.CacheKey);
        Assert.Matches("^[0-9a-f]{32}$", second.Info.CacheKey!);
        Assert.Equal(T0, second.Info.CreatedAt);
        Assert.Equal(T0 + 60 * Second, second.Info.ExpiresAt);
        Assert.Equal(10 * Second, second.Response.Headers.Age);
        Assert.Equal("max-age=60", second.Header("Cache-Control"));
        Assert.Equal("text/plain; charset=utf-8", second.Header("Content-Type"));
    }

    [Fact]
    public async Task Rfc9111_4_2_A_hit_until_the_last_instant_then_a_miss()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("edge", OriginBehaviors.MaxAge(60));

        await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(60 * Second - TimeSpan.FromTicks(1));
        var lastFresh = await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(TimeSpan.FromTicks(1));
        var stale = await cache.GetAsync(origin.Url(path));

        Assert.Equal(CacheReason.FreshHit, lastFresh.Info.Reason);
        Assert.Equal(CacheReason.MissExpired, stale.Info.Reason);
        Assert.False(stale.Info.IsExpired); // the info describes the new answer
        Assert.Equal("2", stale.Body);
        Assert.Equal(2, origin.RequestCount(path));
        Assert.Equal(T0 + 120 * Second, stale.Info.ExpiresAt);
    }

    // ---- Revalidation ----

    [Theory]
    [InlineData("Memory")]
    [InlineData("Sqlite")]
    public async Task Rfc9111_4_3_4_Expired_answer_revalidated_with_304_is_served_merged_and_renewed(string backend)
    {
        await using var cache = CacheHarness.Create(backend);
        var path = MapNew("etag", context => OriginBehaviors.IfNoneMatchMatches(context.Request.Headers.IfNoneMatch, "\"v1\"")
            ? TestOrigin.WriteAsync(context, 304, null, H("ETag: \"v1\"", "Cache-Control: max-age=120", $"X-Revalidated: {TestOrigin.RequestNumber(context)}"))
            : TestOrigin.WriteAsync(context, 200, "stored body", H("ETag: \"v1\"", "Cache-Control: max-age=60", "X-First: yes")));

        var first = await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(61 * Second);
        var revalidated = await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(100 * Second);
        var hit = await cache.GetAsync(origin.Url(path));

        Assert.Null(origin.Requests(path)[0].Header("If-None-Match"));
        Assert.Equal("\"v1\"", origin.Requests(path)[1].Header("If-None-Match"));
        Assert.Equal(2, origin.RequestCount(path));

        Assert.Equal(200, revalidated.Status);
        Assert.Equal("stored body", revalidated.Body);
        Assert.True(revalidated.Info.FromCache);
        Assert.True(revalidated.Info.Revalidated);
        Assert.False(revalidated.Info.IsExpired);
        Assert.Equal(CacheReason.Revalidated, revalidated.Info.Reason);
        Assert.Equal("2", revalidated.Header("X-Revalidated"));
        Assert.Equal("yes", revalidated.Header("X-First"));
        Assert.Equal("max-age=120", revalidated.Header("Cache-Control"));
        Assert.Equal(T0 + 61 * Second + 120 * Second, revalidated.Info.ExpiresAt);
        Assert.Equal(first.Info.CacheKey, revalidated.Info.CacheKey);
        Assert.Equal(T0, revalidated.Info.CreatedAt);

        Assert.Equal(CacheReason.FreshHit, hit.Info.Reason);
        Assert.Equal("stored body", hit.Body);
        Assert.Equal("2", hit.Header("X-Revalidated"));
        Assert.Equal("max-age=120", hit.Header("Cache-Control"));
        Assert.Equal(T0 + 181 * Second, hit.Info.ExpiresAt);
        Assert.Equal(T0, hit.Info.CreatedAt);
    }

    [Fact]
    public async Task Rfc9111_4_3_1_Last_Modified_is_revalidated_with_If_Modified_Since()
    {
        var lastModified = new DateTimeOffset(2000, 6, 7, 8, 9, 10, TimeSpan.Zero);
        await using var cache = CacheHarness.Create(settings: CacheSettings.Default with { ExpireAfter = Expiration.After(60 * Second) });
        var path = MapNew("lm", OriginBehaviors.LastModified(lastModified));

        await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(61 * Second);
        var revalidated = await cache.GetAsync(origin.Url(path));

        Assert.Equal(2, origin.RequestCount(path));
        Assert.Equal(TestOrigin.HttpDate(lastModified), origin.LastRequest(path)!.Header("If-Modified-Since"));
        Assert.Null(origin.LastRequest(path)!.Header("If-None-Match"));
        Assert.Equal("1", revalidated.Body);
        Assert.True(revalidated.Info.Revalidated);
        Assert.Equal(T0 + 121 * Second, revalidated.Info.ExpiresAt);
    }

    [Fact]
    public async Task Rfc9111_4_3_3_A_200_on_revalidation_replaces_the_entry()
    {
        await using var cache = CacheHarness.Create();
        var version = 1;
        var path = MapNew("changing", context =>
        {
            var etag = $"\"v{version}\"";
            return OriginBehaviors.IfNoneMatchMatches(context.Request.Headers.IfNoneMatch, etag)
                ? TestOrigin.WriteAsync(context, 304, null, H($"ETag: {etag}", "Cache-Control: max-age=60"))
                : TestOrigin.WriteAsync(context, 200, $"version {version}", H($"ETag: {etag}", "Cache-Control: max-age=60"));
        });

        await cache.GetAsync(origin.Url(path));
        version = 2;
        cache.Clock.Advance(61 * Second);
        var replaced = await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(Second);
        var hit = await cache.GetAsync(origin.Url(path));

        Assert.Equal("\"v1\"", origin.Requests(path)[1].Header("If-None-Match"));
        Assert.Equal("version 2", replaced.Body);
        Assert.False(replaced.Info.FromCache);
        Assert.False(replaced.Info.Revalidated);
        Assert.Equal(CacheReason.ModifiedOnRevalidation, replaced.Info.Reason);
        Assert.Equal(CacheReason.Stored, replaced.Info.StoreReason);
        Assert.Equal(T0 + 61 * Second, replaced.Info.CreatedAt);

        Assert.Equal("version 2", hit.Body);
        Assert.Equal(CacheReason.FreshHit, hit.Info.Reason);
        Assert.Equal("\"v2\"", hit.Header("ETag"));
        Assert.Equal(2, origin.RequestCount(path));
        Assert.Single(await cache.EntriesAsync());
    }

    // ---- Expires ----

    [Fact]
    public async Task Rfc9111_5_3_Expires_gives_the_lifetime()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("expires", OriginBehaviors.Expires(60 * Second));

        var first = await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(59 * Second);
        var hit = await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(2 * Second);
        var expired = await cache.GetAsync(origin.Url(path));

        Assert.NotNull(first.Header("Expires"));
        Assert.Equal(T0 + 60 * Second, first.Info.ExpiresAt);
        Assert.Equal(CacheReason.FreshHit, hit.Info.Reason);
        Assert.Equal(CacheReason.MissExpired, expired.Info.Reason);
        Assert.Equal("2", expired.Body);
        Assert.Equal(2, origin.RequestCount(path));
    }

    // ---- Not stored ----

    [Fact]
    public async Task Rfc9111_5_2_2_5_Response_no_store_is_never_stored()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("no-store", OriginBehaviors.NoStore());

        var first = await cache.GetAsync(origin.Url(path));
        var second = await cache.GetAsync(origin.Url(path));

        Assert.Equal(2, origin.RequestCount(path));
        Assert.Equal("2", second.Body);
        Assert.Equal(CacheReason.NotStorableNoStore, first.Info.StoreReason);
        Assert.Equal(CacheReason.MissNoEntry, second.Info.Reason);
        Assert.Empty(await cache.EntriesAsync());
        Assert.Equal(0, cache.Counters.Stores);
    }

    [Fact]
    public async Task Rfc9111_5_2_1_5_Request_no_store_neither_reads_nor_writes()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("request-no-store", OriginBehaviors.MaxAge(60));

        var first = await cache.GetAsync(origin.Url(path), null, "Cache-Control: no-store");
        var second = await cache.GetAsync(origin.Url(path), null, "Cache-Control: no-store");
        var plain = await cache.GetAsync(origin.Url(path));

        Assert.Equal(3, origin.RequestCount(path));
        Assert.Equal(CacheReason.BypassRequestNoStore, first.Info.Reason);
        Assert.Equal(CacheReason.BypassRequestNoStore, second.Info.Reason);
        Assert.Equal(CacheReason.MissNoEntry, plain.Info.Reason);
        Assert.Equal(2, cache.Counters.Bypassed);
        Assert.Equal("no-store", origin.Requests(path)[0].Header("Cache-Control"));
    }

    [Fact]
    public async Task Rfc9111_3_A_500_without_explicit_freshness_is_not_stored()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("error", OriginBehaviors.Status(500));

        var first = await cache.GetAsync(origin.Url(path));
        var second = await cache.GetAsync(origin.Url(path));

        Assert.Equal(500, first.Status);
        Assert.Equal(500, second.Status);
        Assert.Equal("2", second.Body);
        Assert.Equal(CacheReason.NotStorableStatus, first.Info.StoreReason);
        Assert.Equal(2, origin.RequestCount(path));
        Assert.Empty(await cache.EntriesAsync());
    }

    // ---- Methods ----

    private static RequestDelegate EchoBody => async context =>
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync();
        await TestOrigin.WriteAsync(context, 200, $"{body} #{TestOrigin.RequestNumber(context)}", H("Cache-Control: max-age=60"));
    };

    [Fact]
    public async Task POST_is_not_cached_by_default()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("post", OriginBehaviors.MaxAge(60));

        var first = await cache.SendAsync(HttpMethod.Post, origin.Url(path), body: "a");
        var second = await cache.SendAsync(HttpMethod.Post, origin.Url(path), body: "a");

        Assert.Equal(2, origin.RequestCount(path));
        Assert.Equal(CacheReason.BypassMethod, first.Info.Reason);
        Assert.Equal(CacheReason.BypassMethod, second.Info.Reason);
        Assert.False(second.Info.FromCache);
        Assert.Empty(await cache.EntriesAsync());
    }

    [Fact]
    public async Task POST_is_cached_when_the_settings_allow_it_and_the_body_is_part_of_the_key()
    {
        var settings = CacheSettings.Default with { AllowedMethods = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "GET", "HEAD", "POST" } };
        await using var cache = CacheHarness.Create(settings: settings);
        var path = MapNew("post-cached", EchoBody);

        var a1 = await cache.SendAsync(HttpMethod.Post, origin.Url(path), body: "a");
        var a2 = await cache.SendAsync(HttpMethod.Post, origin.Url(path), body: "a");
        var b1 = await cache.SendAsync(HttpMethod.Post, origin.Url(path), body: "b");
        var b2 = await cache.SendAsync(HttpMethod.Post, origin.Url(path), body: "b");

        Assert.Equal(2, origin.RequestCount(path));
        Assert.Equal(["a", "b"], origin.Requests(path).Select(r => r.BodyText));
        Assert.Equal("a #1", a1.Body);
        Assert.Equal("a #1", a2.Body);
        Assert.Equal("b #2", b1.Body);
        Assert.Equal("b #2", b2.Body);
        Assert.True(a2.Info.FromCache);
        Assert.True(b2.Info.FromCache);
        Assert.NotEqual(a1.Info.CacheKey, b1.Info.CacheKey);
        Assert.Equal(2, (await cache.EntriesAsync()).Count(e => e.Method == "POST"));
    }

    [Fact]
    public async Task HEAD_is_cached_apart_from_GET()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("head", OriginBehaviors.MaxAge(60));

        var head1 = await cache.SendAsync(HttpMethod.Head, origin.Url(path));
        var head2 = await cache.SendAsync(HttpMethod.Head, origin.Url(path));
        var get = await cache.GetAsync(origin.Url(path));

        Assert.Equal(200, head2.Status);
        Assert.Equal(CacheReason.Stored, head1.Info.StoreReason);
        Assert.True(head2.Info.FromCache);
        Assert.Equal(string.Empty, head2.Body);
        Assert.Equal("1", head2.Header(OriginBehaviors.RequestNumberHeader));
        Assert.False(get.Info.FromCache);
        Assert.Equal("2", get.Body);
        Assert.Equal(["HEAD", "GET"], origin.Requests(path).Select(r => r.Method));
        Assert.NotEqual(head1.Info.CacheKey, get.Info.CacheKey);
    }

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

    // ---- Counters, corruption, failures ----

    [Fact]
    public async Task Counters_count_hits_misses_revalidations_stores_and_bypasses()
    {
        await using var cache = CacheHarness.Create();
        var plain = MapNew("counted", OriginBehaviors.MaxAge(60));
        var tagged = MapNew("counted-etag", OriginBehaviors.ETag("\"c\"", H("Cache-Control: max-age=60")));
        var posted = MapNew("counted-post", OriginBehaviors.Status(404));

        await cache.GetAsync(origin.Url(tagged));                                  // miss, store
        cache.Clock.Advance(61 * Second);
        await cache.GetAsync(origin.Url(plain));                                   // miss, store
        await cache.GetAsync(origin.Url(plain));                                   // hit
        await cache.GetAsync(origin.Url(tagged));                                  // revalidated: hit, store
        await cache.SendAsync(HttpMethod.Post, origin.Url(posted), body: "x");     // bypass
        await cache.GetAsync(origin.Url(plain), Mode(CacheMode.OnlyIfCached));     // hit
        await cache.GetAsync(origin.Url(origin.NewPath("none")), Mode(CacheMode.OnlyIfCached)); // miss (504)

        var counters = cache.Counters;
        Assert.Equal(3, counters.Hits);
        Assert.Equal(3, counters.Misses);
        Assert.Equal(1, counters.Revalidations);
        Assert.Equal(3, counters.Stores);
        Assert.Equal(1, counters.Bypassed);
        Assert.Equal(0, counters.StaleServed);
        Assert.Equal(0, counters.Errors);
        Assert.Equal(0, counters.CorruptEntries);
        Assert.Equal(0, counters.Invalidations);
        Assert.Equal(0.5, counters.HitRate);

        var statistics = await cache.Session.GetStatisticsAsync();
        Assert.Equal(counters, statistics.Session);
        Assert.Equal(counters, statistics.Cumulative);
        Assert.Equal(2, statistics.Inventory.Entries);
    }

    [Theory]
    [InlineData("Memory")]
    [InlineData("Sqlite")]
    public async Task Hit_counts_reach_the_store_on_flush(string backend)
    {
        await using var cache = CacheHarness.Create(backend);
        var path = MapNew("hit-count", OriginBehaviors.MaxAge(600));

        var first = await cache.GetAsync(origin.Url(path));
        for (var i = 1; i <= 3; i++)
        {
            cache.Clock.Advance(Second);
            await cache.GetAsync(origin.Url(path));
        }

        await cache.Session.FlushAsync();

        var entry = Assert.Single(await cache.EntriesAsync());
        Assert.Equal(first.Info.CacheKey, entry.Key);
        Assert.Equal(3, entry.HitCount);
        Assert.Equal(T0 + 3 * Second, entry.LastAccessedAt);
    }

    [Theory]
    [InlineData("Memory")]
    [InlineData("Sqlite")]
    public async Task A_corrupt_entry_is_a_miss_removed_restored_counted_and_reported(string backend)
    {
        await using var cache = CacheHarness.Create(backend);
        var victim = MapNew("corrupt", OriginBehaviors.MaxAge(60));
        var bystander = MapNew("intact", OriginBehaviors.MaxAge(60));
        var first = await cache.GetAsync(origin.Url(victim));
        await cache.GetAsync(origin.Url(bystander));
        await cache.Session.Handler.DrainWritesAsync();

        var record = (await cache.Store.GetAsync(first.Info.CacheKey!))!;
        await cache.Store.SetAsync(new CacheRecord
        {
            Key = record.Key,
            PrimaryKey = record.PrimaryKey,
            Method = record.Method,
            Uri = record.Uri,
            StatusCode = record.StatusCode,
            CreatedAt = record.CreatedAt,
            ExpiresAt = record.ExpiresAt,
            Metadata = "{\"not\": \"an entry\"}"u8.ToArray(),
            Body = record.Body,
        });

        var afterCorruption = await cache.GetAsync(origin.Url(victim));
        var again = await cache.GetAsync(origin.Url(victim));
        var other = await cache.GetAsync(origin.Url(bystander));

        Assert.Equal(200, afterCorruption.Status);
        Assert.Equal("2", afterCorruption.Body);
        Assert.False(afterCorruption.Info.FromCache);
        Assert.Equal(CacheReason.MissNoEntry, afterCorruption.Info.Reason);
        Assert.Equal(CacheReason.Stored, afterCorruption.Info.StoreReason);
        Assert.True(afterCorruption.HasDiagnostic(CacheEventId.CorruptEntry, CacheDiagnosticLevel.Warning));
        Assert.Equal(1, cache.Counters.CorruptEntries);
        Assert.Equal(0, cache.Counters.Errors);

        await cache.Session.Handler.DrainWritesAsync();
        var restored = (await cache.Store.GetAsync(first.Info.CacheKey!))!;
        var readable = EntrySerializer.Deserialize(restored, restored.Metadata, restored.Body);
        Assert.Equal(200, readable.StatusCode);

        Assert.Equal("2", again.Body);
        Assert.True(again.Info.FromCache);
        Assert.Equal("1", other.Body);
        Assert.True(other.Info.FromCache);
        Assert.Equal(2, origin.RequestCount(victim));
        Assert.Equal(1, origin.RequestCount(bystander));
    }

    [Fact]
    public async Task A_store_that_cannot_read_leaves_the_origin_to_answer()
    {
        var store = new FailingStore { FailReads = true, FailWrites = true };
        await using var cache = CacheHarness.Over(store);
        var path = MapNew("store-down", OriginBehaviors.MaxAge(60));

        var first = await cache.GetAsync(origin.Url(path));
        var second = await cache.GetAsync(origin.Url(path));

        Assert.Equal(200, first.Status);
        Assert.Equal("1", first.Body);
        Assert.Equal("2", second.Body);
        Assert.Equal(CacheReason.BypassStoreFailure, first.Info.Reason);
        Assert.Equal(CacheReason.NotStoredStoreFailure, first.Info.StoreReason);
        Assert.True(first.HasDiagnostic(CacheEventId.StoreFailure, CacheDiagnosticLevel.Warning));
        Assert.Contains(first.Info.Diagnostics, d => d.Message.Contains("Failing", StringComparison.Ordinal));
        Assert.Equal(2, cache.Counters.Errors);
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Fact]
    public async Task A_store_that_cannot_write_leaves_the_origin_to_answer()
    {
        // Writes leave the request path: the failure shows on the next request, warned and counted.
        var store = new FailingStore { FailWrites = true };
        await using var cache = CacheHarness.Over(store);
        var path = MapNew("store-readonly", OriginBehaviors.MaxAge(60));

        var first = await cache.GetAsync(origin.Url(path));
        await cache.Session.Handler.DrainWritesAsync();
        var second = await cache.GetAsync(origin.Url(path));

        Assert.Equal("1", first.Body);
        Assert.Equal(CacheReason.MissNoEntry, first.Info.Reason);
        Assert.Equal("2", second.Body);
        Assert.False(second.Info.FromCache);
        Assert.True(second.HasDiagnostic(CacheEventId.StoreFailure, CacheDiagnosticLevel.Warning));
        Assert.Contains(second.Info.Diagnostics, d => d.Message.Contains("Failing", StringComparison.Ordinal));
        Assert.Equal(1, cache.Counters.Errors);
        Assert.Empty(await cache.EntriesAsync());
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Fact]
    public async Task A_store_that_fails_during_revalidation_still_serves_the_revalidated_answer()
    {
        var store = new FailingStore();
        await using var cache = CacheHarness.Over(store);
        var path = MapNew("renew-fails", OriginBehaviors.ETag("\"x\"", H("Cache-Control: max-age=60")));

        await cache.GetAsync(origin.Url(path));
        await cache.Session.Handler.DrainWritesAsync();
        cache.Clock.Advance(61 * Second);
        store.FailWrites = true;
        var revalidated = await cache.GetAsync(origin.Url(path));
        await cache.Session.Handler.DrainWritesAsync();
        var next = await cache.GetAsync(origin.Url(path));

        Assert.Equal(200, revalidated.Status);
        Assert.Equal("1", revalidated.Body);
        Assert.True(revalidated.Info.Revalidated);
        Assert.True(next.HasDiagnostic(CacheEventId.StoreFailure, CacheDiagnosticLevel.Warning));
        Assert.Equal(1, cache.Counters.Errors);
    }

    // ---- Origin failures ----

    [Fact]
    public async Task A_cancelled_slow_request_throws_and_stores_nothing()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("slow", OriginBehaviors.Slow(TimeSpan.FromSeconds(30), OriginBehaviors.MaxAge(60)));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        var request = new HttpRequestMessage(HttpMethod.Get, origin.Url(path));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cache.SendAsync(request, cancellationToken: cancel.Token));

        Assert.Empty(await cache.EntriesAsync());
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task A_dropped_connection_throws_and_the_session_keeps_working()
    {
        await using var cache = CacheHarness.Create();
        var dropped = MapNew("drop", OriginBehaviors.Drop());
        var fine = MapNew("after-drop", OriginBehaviors.MaxAge(60));

        await Assert.ThrowsAsync<HttpRequestException>(() => cache.GetAsync(origin.Url(dropped)));
        var answer = await cache.GetAsync(origin.Url(fine));

        Assert.Equal(200, answer.Status);
        Assert.Equal(CacheReason.Stored, answer.Info.StoreReason);
        Assert.Single(await cache.EntriesAsync());
    }

    // ---- Invalidation (RFC 9111 §4.4) ----

    [Fact]
    public async Task Rfc9111_4_4_A_successful_unsafe_request_invalidates_the_stored_answers()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("invalidated", OriginBehaviors.MaxAge(60));

        // HEAD first: once a GET is stored, a HEAD is answered from it (§4.3.5) and stores nothing of its own.
        await cache.SendAsync(HttpMethod.Head, origin.Url(path));
        await cache.GetAsync(origin.Url(path));
        var post = await cache.SendAsync(HttpMethod.Post, origin.Url(path), body: "change");
        var after = await cache.GetAsync(origin.Url(path));

        Assert.Equal(CacheReason.Invalidated, post.Info.StoreReason);
        Assert.Equal(2, cache.Counters.Invalidations);
        Assert.Equal(CacheReason.MissNoEntry, after.Info.Reason);
        Assert.Equal("4", after.Body);
    }

    [Fact]
    public async Task Rfc9111_4_4_A_failed_unsafe_request_invalidates_nothing()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("not-invalidated", context => HttpMethods.IsGet(context.Request.Method)
            ? OriginBehaviors.MaxAge(60)(context)
            : TestOrigin.WriteAsync(context, 500, "refused"));

        await cache.GetAsync(origin.Url(path));
        var delete = await cache.SendAsync(HttpMethod.Delete, origin.Url(path));
        var after = await cache.GetAsync(origin.Url(path));

        Assert.Equal(500, delete.Status);
        Assert.True(after.Info.FromCache);
        Assert.Equal(0, cache.Counters.Invalidations);
    }

    [Fact]
    public async Task Rfc9111_4_4_The_same_origin_Location_is_invalidated_too()
    {
        await using var cache = CacheHarness.Create();
        var item = MapNew("item", OriginBehaviors.MaxAge(60));
        var collection = MapNew("collection", context => TestOrigin.WriteAsync(context, 201, "created", H($"Location: {item}")));

        await cache.GetAsync(origin.Url(item));
        await cache.SendAsync(HttpMethod.Post, origin.Url(collection), body: "new");
        var after = await cache.GetAsync(origin.Url(item));

        Assert.False(after.Info.FromCache);
        Assert.Equal(2, origin.RequestCount(item));
    }

    // ---- Coalescing, stale-if-error, stale-while-revalidate, timeouts ----

    [Fact]
    public async Task Identical_concurrent_misses_reach_the_origin_once()
    {
        // The origin holds the first request until all five callers have looked in the store and missed (the store
        // counts their lookups), so they certainly overlap; nothing depends on how slow an answer is.
        var store = new FailingStore();
        await using var cache = CacheHarness.Over(store);
        var gate = new OriginGate();
        var path = MapNew("coalesced", gate.Hold(OriginBehaviors.MaxAge(60)));
        var guard = TimeSpan.FromSeconds(30);

        var first = Task.Run(() => cache.GetAsync(origin.Url(path)));
        await gate.WhenHeldAsync(1).WaitAsync(guard);
        var others = Enumerable.Range(0, 4).Select(_ => Task.Run(() => cache.GetAsync(origin.Url(path)))).ToList();
        using (var hang = new CancellationTokenSource(guard))
        {
            while (store.Calls < 5)
            {
                Assert.False(others.Any(t => t.IsFaulted), "a caller failed before the origin answered");
                await Task.Delay(5, hang.Token);
            }
        }

        Assert.Equal((1, 1), (gate.Arrived, gate.Held));
        gate.Release();
        var answers = await Task.WhenAll(others.Prepend(first)).WaitAsync(guard);

        Assert.Equal(1, origin.RequestCount(path));
        Assert.All(answers, a => Assert.Equal("1", a.Body));
        Assert.Equal(4, answers.Count(a => a.Info.Reason == CacheReason.Coalesced));
        Assert.All(answers.Where(a => a.Info.Reason == CacheReason.Coalesced), a => Assert.True(a.Info.FromCache));
        Assert.Equal(4, cache.Counters.Coalesced);
        Assert.Equal(4, cache.Counters.Hits);
        Assert.Equal(1, cache.Counters.Misses);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Rfc5861_4_Stale_if_error_answers_with_the_stored_copy(bool dropInsteadOf500)
    {
        await using var cache = CacheHarness.Create(settings: CacheSettings.Default with { StaleIfError = TimeSpan.FromMinutes(10) });
        var failing = false;
        var path = MapNew("stale-if-error", context => !failing
            ? OriginBehaviors.MaxAge(60)(context)
            : dropInsteadOf500 ? OriginBehaviors.Drop()(context) : OriginBehaviors.Status(500)(context));

        await cache.GetAsync(origin.Url(path));
        failing = true;
        cache.Clock.Advance(120 * Second);
        var stale = await cache.GetAsync(origin.Url(path));

        Assert.Equal(200, stale.Status);
        Assert.Equal("1", stale.Body);
        Assert.True(stale.Info.FromCache);
        Assert.True(stale.Info.IsExpired);
        Assert.Equal(CacheReason.StaleIfError, stale.Info.Reason);
        Assert.Equal("stale-if-error", stale.Info.StaleReason);
        Assert.Equal(1, cache.Counters.StaleServed);
    }

    [Fact]
    public async Task Rfc5861_4_Without_a_stale_if_error_window_the_error_reaches_the_caller()
    {
        await using var cache = CacheHarness.Create();
        var failing = false;
        var path = MapNew("no-stale-if-error", context => failing ? OriginBehaviors.Status(503)(context) : OriginBehaviors.MaxAge(60)(context));

        await cache.GetAsync(origin.Url(path));
        failing = true;
        cache.Clock.Advance(120 * Second);
        var error = await cache.GetAsync(origin.Url(path));

        Assert.Equal(503, error.Status);
        Assert.False(error.Info.FromCache);
        Assert.Single(await cache.EntriesAsync());
    }

    [Fact]
    public async Task Rfc5861_3_Stale_while_revalidate_answers_at_once_and_refreshes_in_the_background()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("swr", OriginBehaviors.Counter(H("Cache-Control: max-age=60, stale-while-revalidate=120")));

        await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(90 * Second);
        var stale = await cache.GetAsync(origin.Url(path));
        await cache.Session.Handler.WaitForBackgroundWorkAsync();
        var refreshed = await cache.GetAsync(origin.Url(path));

        Assert.Equal("1", stale.Body);
        Assert.True(stale.Info.FromCache);
        Assert.True(stale.Info.IsExpired);
        Assert.Equal(CacheReason.StaleWhileRevalidate, stale.Info.Reason);
        Assert.Equal(2, origin.RequestCount(path));
        Assert.Equal("2", refreshed.Body);
        Assert.Equal(CacheReason.FreshHit, refreshed.Info.Reason);
        Assert.Equal(T0 + 150 * Second, refreshed.Info.ExpiresAt);
        Assert.Equal(1, cache.Counters.BackgroundRefreshes);
    }

    [Fact]
    public async Task A_per_request_timeout_becomes_a_TimeoutException()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("timeout", OriginBehaviors.Slow(TimeSpan.FromSeconds(30)));

        await Assert.ThrowsAsync<TimeoutException>(() => cache.GetAsync(origin.Url(path), new CacheRequestOptions { Timeout = TimeSpan.FromMilliseconds(150) }));
    }

    [Fact]
    public async Task A_per_request_timeout_falls_back_to_stale_if_error()
    {
        await using var cache = CacheHarness.Create(settings: CacheSettings.Default with { StaleIfError = TimeSpan.MaxValue });
        var slow = false;
        var path = MapNew("timeout-stale", context => slow ? OriginBehaviors.Slow(TimeSpan.FromSeconds(30))(context) : OriginBehaviors.MaxAge(60)(context));

        await cache.GetAsync(origin.Url(path));
        slow = true;
        cache.Clock.Advance(TimeSpan.FromDays(1));
        var stale = await cache.GetAsync(origin.Url(path), new CacheRequestOptions { Timeout = TimeSpan.FromMilliseconds(150) });

        Assert.Equal("1", stale.Body);
        Assert.Equal(CacheReason.StaleIfError, stale.Info.Reason);
    }

    [Fact]
    public async Task The_longest_accepted_session_lifetime_still_stores()
    {
        await using var cache = CacheHarness.Create(settings: CacheSettings.Default with { ExpireAfter = Expiration.Parse(TimeSpan.MaxValue) });
        var path = MapNew("forever", OriginBehaviors.Counter());

        var first = await cache.GetAsync(origin.Url(path));
        var second = await cache.GetAsync(origin.Url(path));

        Assert.Equal(CacheReason.Stored, first.Info.StoreReason);
        Assert.True(second.Info.FromCache);
    }

    // ---- Credentials and secrets ----

    [Fact]
    public async Task Rfc9111_3_5_Answers_for_one_credential_never_reach_another()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("authorized", OriginBehaviors.MaxAge(60));

        var alice = await cache.GetAsync(origin.Url(path), null, "Authorization: Bearer alice");
        var bob = await cache.GetAsync(origin.Url(path), null, "Authorization: Bearer bob");
        var anonymous = await cache.GetAsync(origin.Url(path));
        var aliceAgain = await cache.GetAsync(origin.Url(path), null, "Authorization: Bearer alice");

        Assert.Equal("1", alice.Body);
        Assert.Equal("2", bob.Body);
        Assert.Equal("3", anonymous.Body);
        Assert.Equal("1", aliceAgain.Body);
        Assert.True(aliceAgain.Info.FromCache);
        Assert.Equal(3, (await cache.EntriesAsync()).Count);
    }

    [Fact]
    public async Task Secret_parameters_key_apart_and_are_redacted_in_each_entry()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("api", OriginBehaviors.MaxAge(60));

        var first = await cache.GetAsync(origin.Url(path + "?q=1&api_key=first-secret"));
        var second = await cache.GetAsync(origin.Url(path + "?api_key=second-secret&q=1"));

        Assert.False(second.Info.FromCache);
        Assert.NotEqual(first.Info.CacheKey, second.Info.CacheKey);
        Assert.Equal("?api_key=second-secret&q=1", origin.LastRequest(path)!.Query);
        var entries = await cache.EntriesAsync();
        Assert.Equal(2, entries.Count);
        Assert.All(entries, entry => Assert.DoesNotContain("secret", entry.Uri, StringComparison.Ordinal));
        Assert.All(entries, entry => Assert.Contains("api_key=REDACTED", entry.Uri, StringComparison.Ordinal));
    }

    // ---- More that users meet ----

    [Fact]
    public async Task Rfc9111_4_4_A_successful_POST_invalidates_GET_even_when_POST_is_cached()
    {
        var settings = CacheSettings.Default with { AllowedMethods = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "GET", "HEAD", "POST" } };
        await using var cache = CacheHarness.Create(settings: settings);
        var path = MapNew("post-invalidates", OriginBehaviors.MaxAge(60));

        await cache.GetAsync(origin.Url(path));
        await cache.SendAsync(HttpMethod.Post, origin.Url(path), body: "change");
        var after = await cache.GetAsync(origin.Url(path));

        Assert.False(after.Info.FromCache, "the GET answer stored before the POST was served");
    }

    [Fact]
    public async Task Matching_all_headers_hits_through_the_default_network_handler()
    {
        // Like Vary: Accept-Encoding: the handler below the cache adds request headers on the way out.
        await using var cache = CacheHarness.Create(settings: CacheSettings.Default with { MatchAllHeaders = true });
        var path = MapNew("match-all", OriginBehaviors.MaxAge(60));

        await cache.GetAsync(origin.Url(path), null, "X-Tenant: a");
        var second = await cache.GetAsync(origin.Url(path), null, "X-Tenant: a");

        Assert.True(second.Info.FromCache, $"second request: {second.Info.Reason}");
    }

    [Fact]
    public async Task Match_headers_tell_answers_apart()
    {
        await using var cache = CacheHarness.Create(settings: CacheSettings.Default with { MatchHeaders = ["X-Tenant"] });
        var path = MapNew("match-headers", OriginBehaviors.MaxAge(60));

        await cache.GetAsync(origin.Url(path), null, "X-Tenant: a");
        var other = await cache.GetAsync(origin.Url(path), null, "X-Tenant: b");
        var again = await cache.GetAsync(origin.Url(path), null, "X-Tenant: a");

        Assert.False(other.Info.FromCache);
        Assert.True(again.Info.FromCache);
        Assert.Equal("1", again.Body);
    }

    [Fact]
    public async Task Per_request_DoNotCache_does_not_read_the_cache_either()
    {
        // requests-cache: an expiration of DO_NOT_CACHE disables reading as well as writing.
        await using var cache = CacheHarness.Create();
        var path = MapNew("do-not-cache-read", OriginBehaviors.MaxAge(60));

        await cache.GetAsync(origin.Url(path));
        var uncached = await cache.GetAsync(origin.Url(path), Expire(Expiration.DoNotCache));

        Assert.False(uncached.Info.FromCache);
        Assert.Equal("2", uncached.Body);
    }

    [Fact]
    public async Task OnlyIfCached_within_a_stale_window_is_served_and_says_why()
    {
        await using var cache = CacheHarness.Create(settings: CacheSettings.Default with { StaleIfError = TimeSpan.FromMinutes(10) });
        var path = MapNew("only-if-cached-stale", OriginBehaviors.MaxAge(60));

        await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(120 * Second);
        var stale = await cache.GetAsync(origin.Url(path), Mode(CacheMode.OnlyIfCached));

        Assert.Equal(200, stale.Status);
        Assert.Equal(CacheReason.StaleHitOnlyIfCached, stale.Info.Reason);
        Assert.True(stale.Info.IsExpired);
        Assert.Equal(1, origin.RequestCount(path));
        Assert.NotNull(stale.Info.StaleReason);
        Assert.NotEqual("max-stale", stale.Info.StaleReason); // the request carried no max-stale
    }

    [Fact]
    public async Task Rfc9111_4_3_4_Hit_counts_survive_a_revalidation()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("hits-kept", OriginBehaviors.ETag("\"h\"", H("Cache-Control: max-age=60")));

        await cache.GetAsync(origin.Url(path));
        await cache.GetAsync(origin.Url(path));
        await cache.GetAsync(origin.Url(path));
        await cache.Session.FlushAsync();
        cache.Clock.Advance(61 * Second);
        var revalidated = await cache.GetAsync(origin.Url(path));
        await cache.Session.FlushAsync();

        Assert.True(revalidated.Info.Revalidated);
        Assert.True(Assert.Single(await cache.EntriesAsync()).HitCount >= 2);
    }

    [Fact]
    public async Task Rfc9111_4_3_4_A_304_that_forbids_storing_serves_the_body_and_drops_the_entry()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("304-no-store", context => OriginBehaviors.IfNoneMatchMatches(context.Request.Headers.IfNoneMatch, "\"n\"")
            ? TestOrigin.WriteAsync(context, 304, null, H("ETag: \"n\"", "Cache-Control: no-store"))
            : TestOrigin.WriteAsync(context, 200, "kept body", H("ETag: \"n\"", "Cache-Control: max-age=60")));

        await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(61 * Second);
        var revalidated = await cache.GetAsync(origin.Url(path));

        Assert.Equal("kept body", revalidated.Body);
        Assert.True(revalidated.Info.Revalidated);
        Assert.Equal(CacheReason.NotStorableNoStore, revalidated.Info.StoreReason);
        Assert.Empty(await cache.EntriesAsync());
    }

    // ---- Concurrency ----

    [Theory]
    [InlineData("Memory")]
    [InlineData("Sqlite")]
    public async Task Fifty_parallel_requests_through_one_session_all_succeed(string backend)
    {
        await using var cache = CacheHarness.Create(backend);
        var paths = Enumerable.Range(0, 5).Select(_ => MapNew("parallel", OriginBehaviors.ETag("\"p\"", H("Cache-Control: max-age=60")))).ToArray();

        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(() => cache.GetAsync(origin.Url(paths[i % paths.Length])))));
        var afterwards = await Task.WhenAll(paths.Select(p => cache.GetAsync(origin.Url(p))));

        Assert.All(answers, a => Assert.Equal(200, a.Status));
        Assert.All(answers, a => Assert.Matches("^[0-9]+$", a.Body));
        Assert.All(afterwards, a => Assert.True(a.Info.FromCache));
        Assert.All(paths, p => Assert.InRange(origin.RequestCount(p), 1, 10));
        Assert.Equal(55, cache.Counters.Hits + cache.Counters.Misses);
        Assert.Equal(5, (await cache.EntriesAsync()).Count);
    }
}

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
public sealed partial class CachingHandlerTests(OriginFixture fixture) : IClassFixture<OriginFixture>
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
}

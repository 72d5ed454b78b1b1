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

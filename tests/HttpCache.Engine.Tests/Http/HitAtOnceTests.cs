using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Http;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.FileSystem;
using HttpCache.Testing;

namespace HttpCache.Engine.Tests.Http;

/// <summary>
/// A hit from a store that answers at once is served before anything is awaited (the cmdlets then build their
/// answer without a state machine); everything else still takes the awaited path, store failures included.
/// </summary>
public sealed class HitAtOnceTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    private Uri Counter()
    {
        var path = origin.NewPath();
        origin.Map(path, OriginBehaviors.Counter(new Dictionary<string, string> { ["Cache-Control"] = "max-age=60" }));
        return origin.Url(path);
    }

    public static TheoryData<string> LocalStores => ["Memory", "Sqlite", "FileSystem"];

    private static CacheHarness Harness(string backend, out string? folder)
    {
        folder = null;
        if (backend != "FileSystem")
        {
            return CacheHarness.Create(backend);
        }

        folder = Path.Combine(Path.GetTempPath(), "HttpCache.Tests", Guid.NewGuid().ToString("N"));
        return CacheHarness.Over(new FileSystemCacheStore(folder));
    }

    [Theory]
    [MemberData(nameof(LocalStores))]
    public async Task A_hit_from_a_local_store_is_answered_before_it_is_awaited(string backend)
    {
        var cache = Harness(backend, out var folder);
        try
        {
            var url = Counter();
            var first = await cache.GetAsync(url);
            await cache.Session.Handler.DrainWritesAsync();

            var sending = cache.Session.SendAsync(new HttpRequestMessage(HttpMethod.Get, url), null, HttpCompletionOption.ResponseHeadersRead);

            Assert.True(sending.IsCompletedSuccessfully);
            var response = await sending;
            Assert.True(response.GetCacheInfo()!.FromCache);
            Assert.Equal(first.Body, await response.Content.ReadAsStringAsync());
            Assert.Equal(1, cache.Counters.Hits);
        }
        finally
        {
            await cache.DisposeAsync();
            if (folder is not null)
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    [Fact]
    public async Task A_stored_answer_that_must_be_revalidated_still_goes_to_the_origin()
    {
        await using var cache = CacheHarness.Create();
        var url = Counter();
        await cache.GetAsync(url);
        await cache.Session.Handler.DrainWritesAsync();
        cache.Clock.Advance(TimeSpan.FromMinutes(2));

        var sending = cache.Session.SendAsync(new HttpRequestMessage(HttpMethod.Get, url), null, HttpCompletionOption.ResponseHeadersRead);
        var response = await sending;

        Assert.False(response.GetCacheInfo()!.FromCache);
        Assert.Equal("2", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_read_that_throws_at_once_is_a_store_failure_and_the_origin_answers()
    {
        await using var store = new FailingStore { ReadsAtOnce = true, FailReads = true };
        await using var cache = CacheHarness.Over(store);
        var url = Counter();

        var answer = await cache.GetAsync(url);

        Assert.Equal(200, answer.Status);
        Assert.False(answer.Info.FromCache);
        Assert.Equal(1, cache.Counters.Errors);
        Assert.Contains(answer.Info.Diagnostics, d => d.EventId == CacheEventId.StoreFailure && d.Level == CacheDiagnosticLevel.Warning);
    }
}

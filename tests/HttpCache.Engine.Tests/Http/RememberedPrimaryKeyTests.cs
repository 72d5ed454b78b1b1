using HttpCache.Engine.Http;
using HttpCache.Engine.Policy;
using HttpCache.Testing;

namespace HttpCache.Engine.Tests.Http;

/// <summary>
/// A session remembers the primary keys of body-less requests, so repeated URLs skip the SHA-256: the remembered
/// key must be the one computed afresh, URLs carrying a secret are never remembered, and the memory is bounded.
/// </summary>
public sealed class RememberedPrimaryKeyTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    private Uri Counter(string query = "")
    {
        var path = origin.NewPath();
        origin.Map(path, OriginBehaviors.Counter(new Dictionary<string, string> { ["Cache-Control"] = "max-age=60" }));
        return new Uri(origin.Url(path).AbsoluteUri + query);
    }

    [Fact]
    public async Task A_repeated_URL_is_keyed_and_served_as_the_first_time()
    {
        await using var cache = CacheHarness.Create();
        var url = Counter("?b=2&a=1");

        var first = await cache.GetAsync(url);
        var second = await cache.GetAsync(url);

        Assert.Equal(1, cache.Session.Handler.RememberedPrimaryKeys);
        Assert.Equal(CacheKey.Primary("GET", url, null, null, cache.Session.Settings), first.Info.CacheKey);
        Assert.Equal(first.Info.CacheKey, second.Info.CacheKey);
        Assert.True(second.Info.FromCache);
    }

    [Fact]
    public async Task A_URL_with_a_secret_is_never_remembered()
    {
        await using var cache = CacheHarness.Create();
        var url = Counter("?q=1&api_key=K");

        await cache.GetAsync(url);
        var second = await cache.GetAsync(url);

        Assert.True(second.Info.FromCache);
        Assert.Equal(0, cache.Session.Handler.RememberedPrimaryKeys);
    }

    [Fact]
    public async Task The_same_URL_under_another_Host_header_has_its_own_key()
    {
        await using var cache = CacheHarness.Create();
        var url = Counter();

        var plain = await cache.GetAsync(url);
        var other = await cache.GetAsync(url, null, "Host: other.example:" + url.Port);

        Assert.NotEqual(plain.Info.CacheKey, other.Info.CacheKey);
        Assert.Equal(2, cache.Session.Handler.RememberedPrimaryKeys);
    }

    [Fact]
    public async Task The_memory_starts_again_past_its_bound()
    {
        await using var cache = CacheHarness.Create();
        var url = Counter();

        // 4,096 distinct URLs fill it (the origin answers any query the same); the next one starts it again.
        for (var i = 0; i <= 4096; i++)
        {
            await cache.GetAsync(new Uri(url.AbsoluteUri + "?n=" + i), new CacheRequestOptions { Mode = CacheMode.OnlyIfCached });
        }

        Assert.Equal(1, cache.Session.Handler.RememberedPrimaryKeys);
    }
}

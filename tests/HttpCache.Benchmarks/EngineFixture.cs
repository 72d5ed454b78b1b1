using HttpCache.Engine;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Storage;
using HttpCache.Testing;

namespace HttpCache.Benchmarks;

/// <summary>
/// A session over a store, the origin it fetches from, and the one GET every engine benchmark measures:
/// <c>await (await session.SendAsync(new HttpRequestMessage(HttpMethod.Get, url))).Content.ReadAsByteArrayAsync()</c>.
/// </summary>
internal static class EngineFixture
{
    /// <summary>A session as users get it (the default network handler), over <paramref name="store"/>.</summary>
    public static HttpCacheSession Session(ICacheStore store) => new(store, name: "bench");

    /// <summary>The measured operation: a GET through the engine, its body read whole.</summary>
    public static async Task<byte[]> GetAsync(HttpCacheSession session, Uri url)
    {
        using var response = await session.SendAsync(new HttpRequestMessage(HttpMethod.Get, url)).ConfigureAwait(false);
        return await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Stores <paramref name="url"/> through a real miss, then proves the next GETs are fresh hits that never
    /// reach the origin, so a hit benchmark measures hits only.
    /// </summary>
    public static async Task PrestoreAsync(HttpCacheSession session, TestOrigin origin, Uri url)
    {
        var before = origin.RequestCount(Fixtures.BodyPath);
        using (var miss = await session.SendAsync(new HttpRequestMessage(HttpMethod.Get, url)).ConfigureAwait(false))
        {
            var body = await miss.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
            Fixtures.Check(miss.IsSuccessStatusCode && body.Length == Fixtures.BodySize, $"the origin answers {url} with {Fixtures.BodySize} bytes");
            Fixtures.Check(miss.GetCacheInfo() is { FromCache: false }, "the first GET is a miss");
        }

        for (var i = 0; i < 3; i++)
        {
            using var hit = await session.SendAsync(new HttpRequestMessage(HttpMethod.Get, url)).ConfigureAwait(false);
            var body = await hit.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
            var info = hit.GetCacheInfo();
            Fixtures.Check(info is { FromCache: true, IsExpired: false } && body.AsSpan().SequenceEqual(Fixtures.Body),
                $"a later GET of {url} is a fresh hit with the stored body (reason {info?.Reason})");
        }

        Fixtures.Check(origin.RequestCount(Fixtures.BodyPath) == before + 1, "the hits never reached the origin");
    }

    /// <summary>Disposes what a benchmark class set up, whichever parts of it exist.</summary>
    public static async Task DisposeAsync(HttpCacheSession? session, TestOrigin? origin)
    {
        if (session is not null)
        {
            await session.DisposeAsync().ConfigureAwait(false);
        }

        if (origin is not null)
        {
            await origin.DisposeAsync().ConfigureAwait(false);
        }
    }
}

using System.Globalization;
using HttpCache.Engine.Policy;
using HttpCache.Testing;
using Microsoft.AspNetCore.Http;

namespace HttpCache.Engine.Tests.Http;

/// <summary>
/// RFC 9111 §4.3.5 against a real Kestrel origin: "A response to the HEAD method is identical to what an
/// equivalent request made with a GET would have been, without sending the content."
/// </summary>
public sealed class HeadTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    private readonly TestOrigin origin = fixture.Origin;

    /// <summary>Request 1 answers with <paramref name="first"/>'s headers, later ones with <paramref name="later"/>'s; the body is <paramref name="body"/> (or <paramref name="laterBody"/>).</summary>
    private string Map(Dictionary<string, string> first, Dictionary<string, string> later, string body = "same", string? laterBody = null)
    {
        var path = origin.NewPath("head");
        origin.Map(path, context =>
        {
            var n = TestOrigin.RequestNumber(context);
            context.Response.Headers["X-Request-Number"] = n.ToString(CultureInfo.InvariantCulture);
            return TestOrigin.WriteAsync(context, 200, n == 1 ? body : laterBody ?? body, n == 1 ? first : later);
        });
        return path;
    }

    [Fact]
    public async Task Rfc9111_4_3_5_A_HEAD_is_answered_from_the_stored_GET_answer()
    {
        await using var cache = CacheHarness.Create();
        var headers = new Dictionary<string, string> { ["Cache-Control"] = "max-age=60" };
        var path = Map(headers, headers);

        await cache.GetAsync(origin.Url(path));
        var head = await cache.SendAsync(HttpMethod.Head, origin.Url(path));

        Assert.Equal(1, origin.RequestCount(path));
        Assert.Equal(200, head.Status);
        Assert.True(head.Info.FromCache);
        Assert.Equal(string.Empty, head.Body);
        Assert.Equal("1", head.Header("X-Request-Number"));
        Assert.Equal("4", head.Header("Content-Length"));
    }

    [Fact]
    public async Task Rfc9111_4_3_5_A_200_to_HEAD_freshens_the_stored_GET_answer()
    {
        // "If a cache updates a stored response with the metadata provided in a HEAD response, the cache MUST
        // use the header fields provided in the HEAD response to update the stored response"
        await using var cache = CacheHarness.Create();
        var path = Map(
            new() { ["Cache-Control"] = "max-age=60", ["ETag"] = "\"v1\"" },
            new() { ["Cache-Control"] = "max-age=120", ["ETag"] = "\"v1\"", ["X-Freshened"] = "yes" });

        await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(61 * Second);
        var head = await cache.SendAsync(HttpMethod.Head, origin.Url(path));
        cache.Clock.Advance(100 * Second);
        var get = await cache.GetAsync(origin.Url(path));

        Assert.False(head.Info.FromCache);
        Assert.Equal(["GET", "HEAD"], origin.Requests(path).Select(r => r.Method));
        Assert.True(get.Info.FromCache);
        Assert.Equal(CacheReason.FreshHit, get.Info.Reason);
        Assert.Equal("same", get.Body);
        Assert.Equal("max-age=120", get.Header("Cache-Control"));
        Assert.Equal("yes", get.Header("X-Freshened"));
        Assert.Equal("GET", (await cache.EntriesAsync()).Single(e => e.Key == get.Info.CacheKey).Method);
    }

    [Theory]
    [InlineData("ETag", "\"v2\"", "same")]
    [InlineData("Last-Modified", "Tue, 14 Jan 2025 10:00:00 GMT", "same")]
    [InlineData("ETag", "\"v1\"", "longer body")]
    public async Task Rfc9111_4_3_5_A_HEAD_that_shows_a_change_invalidates_the_stored_GET_answer(string field, string laterValue, string laterBody)
    {
        // "otherwise, the cache SHOULD consider the stored response to be stale"
        await using var cache = CacheHarness.Create();
        var first = new Dictionary<string, string> { ["Cache-Control"] = "max-age=60", ["ETag"] = "\"v1\"", ["Last-Modified"] = "Mon, 13 Jan 2025 10:00:00 GMT" };
        var later = new Dictionary<string, string>(first) { [field] = laterValue };
        var path = Map(first, later, "same", laterBody);

        await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(61 * Second);
        await cache.SendAsync(HttpMethod.Head, origin.Url(path));
        var get = await cache.GetAsync(origin.Url(path));

        Assert.False(get.Info.FromCache);
        Assert.Equal(CacheReason.MissNoEntry, get.Info.Reason);
        Assert.Equal(3, origin.RequestCount(path));
    }
}

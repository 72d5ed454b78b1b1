using HttpCache.Engine.Policy;
using HttpCache.Testing;

namespace HttpCache.Engine.Tests.Http;

/// <summary>
/// Range requests against a real Kestrel origin. RFC 9111 §3.4: "A cache MAY ... use [a stored complete response]
/// to satisfy ... requests for a range"; RFC 9110 §14.
/// </summary>
public sealed class RangeHandlerTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    private async Task<(CacheHarness Cache, string Path)> StoredAsync()
    {
        var cache = CacheHarness.Create();
        var path = origin.NewPath("range");
        origin.Respond(path, 200, new Dictionary<string, string> { ["Cache-Control"] = "max-age=60", ["ETag"] = "\"v1\"" }, "0123456789");
        var first = await cache.GetAsync(origin.Url(path));
        Assert.Equal("0123456789", first.Body);
        return (cache, path);
    }

    private static string? Raw(HttpResponseMessage response, string name) =>
        response.Content.Headers.NonValidated.TryGetValues(name, out var values) ? string.Join(", ", values) : null;

    [Theory]
    [InlineData("bytes=2-5", "2345", "bytes 2-5/10")]
    [InlineData("bytes=7-", "789", "bytes 7-9/10")]
    [InlineData("bytes=-3", "789", "bytes 7-9/10")]
    [InlineData("bytes=5-100", "56789", "bytes 5-9/10")]
    public async Task Rfc9110_14_A_range_of_a_stored_answer_is_answered_206_from_the_store(string range, string body, string contentRange)
    {
        var (cache, path) = await StoredAsync();
        await using var _ = cache;

        var answer = await cache.GetAsync(origin.Url(path), null, "Range: " + range);

        Assert.Equal(206, answer.Status);
        Assert.Equal(body, answer.Body);
        Assert.Equal(contentRange, Raw(answer.Response, "Content-Range"));
        Assert.Equal(body.Length, answer.Response.Content.Headers.ContentLength);
        Assert.True(answer.Info.FromCache);
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Theory]
    [InlineData("bytes=20-")]
    [InlineData("bytes=0-1,4-5")]
    public async Task Rfc9110_14_A_range_the_store_cannot_satisfy_goes_to_the_origin(string range)
    {
        var (cache, path) = await StoredAsync();
        await using var _ = cache;

        var answer = await cache.GetAsync(origin.Url(path), null, "Range: " + range);

        Assert.Equal(2, origin.RequestCount(path));
        Assert.Equal("bytes=" + range["bytes=".Length..], origin.LastRequest(path)!.Headers["Range"]);
        Assert.Equal(CacheReason.BypassRange, answer.Info.Reason);
        Assert.False(answer.Info.FromCache);
    }

    [Theory]
    [InlineData("\"v1\"", 206, "01")]
    [InlineData("\"v2\"", 200, "0123456789")]
    [InlineData("W/\"v1\"", 200, "0123456789")]
    public async Task Rfc9110_13_1_5_If_Range_decides_between_the_part_and_the_whole(string ifRange, int status, string body)
    {
        // "If the validator given in the If-Range header field matches the current validator for the selected
        // representation of the target resource, then the server SHOULD process the Range header field as requested.
        // If the validator does not match, then the server MUST ignore the Range header field."
        var (cache, path) = await StoredAsync();
        await using var _ = cache;

        var answer = await cache.GetAsync(origin.Url(path), null, "Range: bytes=0-1", "If-Range: " + ifRange);

        Assert.Equal(status, answer.Status);
        Assert.Equal(body, answer.Body);
        Assert.True(answer.Info.FromCache);
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task A_Range_miss_does_not_make_an_identical_GET_wait_for_its_206()
    {
        // The origin holds the first request (the Range one) until released: the plain GET reaches the origin
        // meanwhile instead of waiting for an answer that will not be stored.
        await using var cache = CacheHarness.Create();
        var path = origin.NewPath("range-lead");
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var second = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        origin.Map(path, async context =>
        {
            if (TestOrigin.RequestNumber(context) == 1)
            {
                held.SetResult();
                await release.Task;
            }
            else
            {
                second.TrySetResult();
            }

            await TestOrigin.WriteAsync(context, 200, "0123456789", new Dictionary<string, string> { ["Cache-Control"] = "max-age=60" });
        });

        var ranged = cache.GetAsync(origin.Url(path), null, "Range: bytes=0-1");
        await held.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var plain = cache.GetAsync(origin.Url(path));
        await second.Task.WaitAsync(TimeSpan.FromSeconds(30));
        release.SetResult();
        await Task.WhenAll(ranged, plain);

        Assert.Equal(2, origin.RequestCount(path));
        Assert.Equal("0123456789", (await plain).Body);
    }
}

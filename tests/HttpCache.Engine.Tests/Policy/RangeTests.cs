using HttpCache.Engine.Policy;
using static HttpCache.Engine.Tests.Policy.PolicyData;

namespace HttpCache.Engine.Tests.Policy;

/// <summary>
/// RFC 9110 §14 and §13.1.5: which Range requests a stored complete answer satisfies. RFC 9111 §3.4: a cache may
/// answer a range from a stored complete response.
/// </summary>
public sealed class RangeTests
{
    private const string LastModified = "Mon, 13 Jan 2025 10:00:00 GMT";

    public static TheoryData<string[], RangeAction, long, long> Cases => new()
    {
        // request headers, action, first, last. The stored body is 10 bytes; ETag "v1".
        { [], RangeAction.Whole, 0, 0 },
        { ["Range: bytes=2-5"], RangeAction.Partial, 2, 5 },
        { ["Range: bytes=0-0"], RangeAction.Partial, 0, 0 },
        { ["Range: bytes=7-"], RangeAction.Partial, 7, 9 },
        // §14.1.2: "If the selected representation is shorter than the specified suffix-length, the entire representation is used."
        { ["Range: bytes=-3"], RangeAction.Partial, 7, 9 },
        { ["Range: bytes=-30"], RangeAction.Partial, 0, 9 },
        // §14.1.1: "a last-pos value ... greater than or equal to the current length ... is interpreted as the remainder"
        { ["Range: bytes=5-100"], RangeAction.Partial, 5, 9 },
        { ["Range: BYTES = 1-2"], RangeAction.Partial, 1, 2 },
        // Not from the store: the origin answers (416, or its own 206).
        { ["Range: bytes=10-"], RangeAction.Origin, 0, 0 },
        { ["Range: bytes=-0"], RangeAction.Origin, 0, 0 },
        { ["Range: bytes=5-2"], RangeAction.Origin, 0, 0 },
        { ["Range: bytes=0-1,4-5"], RangeAction.Origin, 0, 0 },
        { ["Range: bytes=a-b"], RangeAction.Origin, 0, 0 },
        // §14.2: "An origin server MUST ignore a Range header field that contains a range unit it does not understand."
        { ["Range: items=0-1"], RangeAction.Whole, 0, 0 },
        // §13.1.5: If-Range with the strong comparison, or the exact Last-Modified; otherwise the Range is ignored.
        { ["Range: bytes=0-1", "If-Range: \"v1\""], RangeAction.Partial, 0, 1 },
        { ["Range: bytes=0-1", "If-Range: \"v2\""], RangeAction.Whole, 0, 0 },
        { ["Range: bytes=0-1", "If-Range: W/\"v1\""], RangeAction.Whole, 0, 0 },
        { ["Range: bytes=0-1", "If-Range: " + LastModified], RangeAction.Partial, 0, 1 },
        { ["Range: bytes=0-1", "If-Range: Tue, 14 Jan 2025 10:00:00 GMT"], RangeAction.Whole, 0, 0 },
        { ["If-Range: \"v1\""], RangeAction.Whole, 0, 0 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Rfc9110_14_A_single_satisfiable_range_is_answered_from_the_store(string[] headers, RangeAction action, long first, long last)
    {
        var stored = Stored(Seconds(60), headers: ["ETag: \"v1\"", "Last-Modified: " + LastModified]);
        using var request = Request(headers);

        var decision = CachePolicy.RangeFromStore(request, stored, 10);

        Assert.Equal(action, decision.Action);
        if (action == RangeAction.Partial)
        {
            Assert.Equal((first, last), (decision.First, decision.Last));
        }
    }

    [Fact]
    public void Rfc9110_14_2_Only_GET_ranges_are_answered()
    {
        // "A server MUST ignore a Range header field received with a request method that is unrecognized or for which
        // range handling is not defined." (HEAD has no content to take a range of.)
        var stored = Stored(Seconds(60));
        using var head = Request(HttpMethod.Head, "Range: bytes=0-1");

        Assert.Equal(RangeAction.Whole, CachePolicy.RangeFromStore(head, stored, 10).Action);
    }
}

using System.Net;
using System.Text;
using HttpCache.Engine.Policy;
using static HttpCache.Engine.Tests.Policy.PolicyData;

namespace HttpCache.Engine.Tests.Policy;

/// <summary>
/// RFC 9111 §3.3–3.4 and RFC 9110 §15.3.7.3: which 206 answers are stored as parts, which ranges a stored part
/// answers, and how parts combine into the complete answer.
/// </summary>
public sealed class PartialContentTests
{
    private const string Date = "Wed, 15 Jan 2025 12:00:00 GMT";

    public static TheoryData<string[], bool> StorableParts => new()
    {
        // §3.4: "if they all share the same strong validator"
        { ["Content-Range: bytes 0-4/10", "ETag: \"v1\""], true },
        { ["Content-Range: bytes 9-9/10", "ETag: \"v1\""], true },
        { ["Content-Range: bytes 0-4/10", "ETag: W/\"v1\""], false },
        { ["Content-Range: bytes 0-4/10"], false },
        // RFC 9110 §8.8.2.2: Last-Modified is strong when "at least one second prior to the Date value".
        { ["Content-Range: bytes 0-4/10", "Last-Modified: Wed, 15 Jan 2025 11:59:59 GMT", "Date: " + Date], true },
        { ["Content-Range: bytes 0-4/10", "Last-Modified: " + Date, "Date: " + Date], false },
        { ["Content-Range: bytes 0-4/10", "Last-Modified: Wed, 15 Jan 2025 11:00:00 GMT"], false },
        // One range with a known complete length, nothing else.
        { ["Content-Range: bytes 0-4/*", "ETag: \"v1\""], false },
        { ["Content-Range: bytes */10", "ETag: \"v1\""], false },
        { ["Content-Range: bytes 5-4/10", "ETag: \"v1\""], false },
        { ["Content-Range: bytes 0-10/10", "ETag: \"v1\""], false },
        { ["Content-Range: items 0-4/10", "ETag: \"v1\""], false },
        { ["Content-Type: multipart/byteranges; boundary=x", "ETag: \"v1\""], false },
    };

    [Theory]
    [MemberData(nameof(StorableParts))]
    public void Rfc9111_3_4_A_206_is_stored_only_as_one_range_with_a_strong_validator(string[] headers, bool storable)
    {
        using var response = Response(HttpStatusCode.PartialContent, headers);

        Assert.Equal(storable, CachePolicy.StorablePart(response, Now) is not null);
    }

    [Fact]
    public void Rfc9111_3_A_storable_206_is_stored_by_the_rules_of_the_complete_answer_and_another_206_is_not()
    {
        using var request = Request("Range: bytes=0-4");
        using var part = Response(HttpStatusCode.PartialContent, "Content-Range: bytes 0-4/10", "ETag: \"v1\"", "Cache-Control: max-age=60");
        using var weak = Response(HttpStatusCode.PartialContent, "Content-Range: bytes 0-4/10", "ETag: W/\"v1\"", "Cache-Control: max-age=60");

        var stored = CachePolicy.Store(request, part, CacheSettings.Default, CacheRequestOptions.Default, Now, Now);
        var notStored = CachePolicy.Store(request, weak, CacheSettings.Default, CacheRequestOptions.Default, Now, Now);

        Assert.True(stored.Store);
        Assert.Equal(Now.AddSeconds(60), stored.ExpiresAt);
        Assert.False(notStored.Store);
        Assert.Equal(CacheReason.NotStorableStatus, notStored.Reason);
    }

    [Theory]
    [InlineData("bytes=2-4", RangeAction.Partial, 2, 4)]
    [InlineData("bytes=2-3", RangeAction.Partial, 2, 3)]
    [InlineData("bytes=4-4", RangeAction.Partial, 4, 4)]
    [InlineData("bytes=1-5", RangeAction.Origin, 0, 0)]
    [InlineData("bytes=2-", RangeAction.Origin, 0, 0)]
    [InlineData("bytes=-3", RangeAction.Origin, 0, 0)]
    [InlineData("bytes=0-1", RangeAction.Origin, 0, 0)]
    public void Rfc9111_3_3_A_stored_part_answers_only_a_range_wholly_within_it(string range, RangeAction action, long first, long last)
    {
        // "A cache MUST NOT use an incomplete response to answer requests unless the response has been made
        // complete, or the request is partial and specifies a range wholly within the incomplete response."
        var stored = Part("Content-Range: bytes 2-4/10", "ETag: \"v1\"");
        using var request = Request("Range: " + range);

        var decision = CachePolicy.RangeFromPart(request, stored, CachePolicy.StoredPart(stored)!.Value);

        Assert.Equal(action, decision.Action);
        Assert.Equal((first, last), (decision.First, decision.Last));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Range: bytes=2-3|If-Range: \"v2\"")]
    public void Rfc9111_3_3_A_request_for_more_than_the_part_goes_to_the_origin(string lines)
    {
        var headers = lines.Split('|', StringSplitOptions.RemoveEmptyEntries);
        // A plain GET, or a Range whose If-Range fails (the whole representation is then asked for), is not partial.
        var stored = Part("Content-Range: bytes 2-4/10", "ETag: \"v1\"");
        using var request = Request(headers);

        Assert.Equal(RangeAction.Origin, CachePolicy.RangeFromPart(request, stored, CachePolicy.StoredPart(stored)!.Value).Action);
    }

    [Theory]
    [InlineData(0, 4, "01234", 5, 9, "56789", 0, 9, "0123456789")]
    [InlineData(5, 9, "56789", 0, 4, "01234", 0, 9, "0123456789")]
    [InlineData(0, 6, "0123456", 3, 9, "3456789", 0, 9, "0123456789")]
    [InlineData(2, 4, "234", 5, 6, "56", 2, 6, "23456")]
    public void Rfc9110_15_3_7_3_Parts_that_overlap_or_adjoin_combine_into_their_union(long f1, long l1, string b1, long f2, long l2, string b2, long first, long last, string body)
    {
        // "The combined response message content consists of the union of partial content ranges within the new
        // response and all of the matching stored responses."
        var union = CachePolicy.Combine(new(f1, l1, 10), Encoding.ASCII.GetBytes(b1), new(f2, l2, 10), Encoding.ASCII.GetBytes(b2));

        Assert.NotNull(union);
        Assert.Equal(new ContentPart(first, last, 10), union.Value.Part);
        Assert.Equal(body, Encoding.ASCII.GetString(union.Value.Body));
    }

    [Fact]
    public void Rfc9110_15_3_7_3_Parts_with_a_gap_or_of_another_length_do_not_combine()
    {
        Assert.Null(CachePolicy.Combine(new(0, 2, 10), "012"u8.ToArray(), new(5, 9, 10), "56789"u8.ToArray()));
        Assert.Null(CachePolicy.Combine(new(0, 4, 10), "01234"u8.ToArray(), new(5, 9, 11), "56789"u8.ToArray()));
        // A body shorter than its Content-Range says is incomplete (§3.3), never combined.
        Assert.Null(CachePolicy.Combine(new(0, 4, 10), "0123"u8.ToArray(), new(5, 9, 10), "56789"u8.ToArray()));
    }

    [Fact]
    public void Rfc9111_3_4_Combined_headers_are_the_new_answers_with_the_union_stated()
    {
        // "a cache MUST use the header fields provided in the new response, aside from Content-Range, to replace
        // all instances of the corresponding header fields in the stored response."
        KeyValuePair<string, string[]>[] newer = [new("ETag", ["\"v1\""]), new("Content-Range", ["bytes 5-9/10"]), new("Content-Length", ["5"]), new("Cache-Control", ["max-age=90"])];

        var partial = CachePolicy.CombinedHeaders(newer, new(2, 9, 10));
        var whole = CachePolicy.CombinedHeaders(newer, new(0, 9, 10));

        Assert.Equal(["bytes 2-9/10"], partial.Single(h => h.Key == "Content-Range").Value);
        Assert.Equal(["8"], partial.Single(h => h.Key == "Content-Length").Value);
        Assert.Equal(["max-age=90"], partial.Single(h => h.Key == "Cache-Control").Value);
        // RFC 9110 §15.3.7.3: "as if it were a complete 200 (OK) response, including a Content-Length header field
        // that reflects the complete length."
        Assert.DoesNotContain(whole, h => h.Key == "Content-Range");
        Assert.Equal(["10"], whole.Single(h => h.Key == "Content-Length").Value);
    }

    [Fact]
    public void Rfc9111_3_4_An_entity_tag_never_matches_a_date_as_a_validator()
    {
        var byTag = Part("Content-Range: bytes 0-4/10", "ETag: \"v1\"");
        var byDate = Part("Content-Range: bytes 0-4/10", "Last-Modified: Wed, 15 Jan 2025 11:00:00 GMT", "Date: " + Date);

        Assert.Equal("etag \"v1\"", CachePolicy.StrongValidator(byTag));
        Assert.NotNull(CachePolicy.StrongValidator(byDate));
        Assert.NotEqual(CachePolicy.StrongValidator(byTag), CachePolicy.StrongValidator(byDate));
    }

    private static StoredResponse Part(params string[] headers)
    {
        var stored = Stored(Seconds(60), headers: headers);
        return new StoredResponse
        {
            Record = stored.Record,
            StatusCode = 206,
            Headers = stored.Headers,
            RequestTime = stored.RequestTime,
            ResponseTime = stored.ResponseTime,
        };
    }
}

using HttpCache.Engine.Policy;
using static HttpCache.Engine.Tests.Policy.PolicyData;

namespace HttpCache.Engine.Tests.Policy;

/// <summary>RFC 9111 §4.3.2 / RFC 9110 §13.2.2: the caller's If-None-Match and If-Modified-Since against a stored answer.</summary>
public sealed class ConditionalPolicyTests
{
    private const string LastModified = "Mon, 13 Jan 2025 10:00:00 GMT";

    public static TheoryData<string, string[], bool> Cases => new()
    {
        // name, request headers, expected 304. Stored: ETag "v1", Last-Modified 13 Jan 10:00.
        { "same strong tag", ["If-None-Match: \"v1\""], true },
        // RFC 9110 §13.1.2: "A recipient MUST use the weak comparison function when comparing entity tags for If-None-Match"
        { "weak tag against a strong one", ["If-None-Match: W/\"v1\""], true },
        { "one of a list", ["If-None-Match: \"v0\", \"v1\""], true },
        { "a list without OWS", ["If-None-Match: \"v0\",W/\"v1\""], true },
        { "another tag", ["If-None-Match: \"v2\""], false },
        { "tags are case-sensitive", ["If-None-Match: \"V1\""], false },
        { "star", ["If-None-Match: *"], true },
        { "malformed: unquoted", ["If-None-Match: v1"], false },
        // RFC 9110 §13.1.3: "A recipient MUST ignore If-Modified-Since if the request contains an If-None-Match header field"
        { "If-None-Match wins over a later If-Modified-Since", ["If-None-Match: \"v2\"", "If-Modified-Since: Tue, 14 Jan 2025 10:00:00 GMT"], false },
        { "If-None-Match wins over an earlier If-Modified-Since", ["If-None-Match: \"v1\"", "If-Modified-Since: Sun, 12 Jan 2025 10:00:00 GMT"], true },
        { "If-Modified-Since equal to Last-Modified", ["If-Modified-Since: " + LastModified], true },
        { "If-Modified-Since after Last-Modified", ["If-Modified-Since: Tue, 14 Jan 2025 10:00:00 GMT"], true },
        { "If-Modified-Since before Last-Modified", ["If-Modified-Since: Sun, 12 Jan 2025 10:00:00 GMT"], false },
        { "If-Modified-Since in RFC 850 form", ["If-Modified-Since: Tuesday, 14-Jan-25 10:00:00 GMT"], true },
        // RFC 9110 §13.1.3: "A recipient MUST ignore the If-Modified-Since header field if the received
        // field value is not a valid HTTP-date"
        { "If-Modified-Since invalid", ["If-Modified-Since: Tue, 14 Jan 2025 10:00:00 UTC"], false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Rfc9111_4_3_2_Conditions_evaluated_against_the_stored_answer(string name, string[] requestHeaders, bool notModified)
    {
        var stored = Stored(Seconds(60), headers: ["ETag: \"v1\"", "Last-Modified: " + LastModified]);
        using var request = Request(requestHeaders);

        Assert.True(notModified == CachePolicy.EvaluatesToNotModified(request, stored), name);
    }

    [Fact]
    public void Rfc9111_4_3_2_If_Modified_Since_falls_back_to_Date_then_the_receipt_time()
    {
        // "If a stored response ... does not have a Last-Modified ... the cache SHOULD use the stored response's
        // Date header field value; if no Date field is present, the time the response was received"
        var withDate = Stored(Seconds(60), headers: ["Date: Mon, 13 Jan 2025 10:00:00 GMT"]);
        var withNothing = Stored(Seconds(60), receivedAgo: Seconds(60));
        using var between = Request("If-Modified-Since: Tue, 14 Jan 2025 10:00:00 GMT");
        using var beforeReceipt = Request("If-Modified-Since: " + HttpCache.Testing.TestOrigin.HttpDate(Now - Seconds(120)));
        using var afterReceipt = Request("If-Modified-Since: " + HttpCache.Testing.TestOrigin.HttpDate(Now - Seconds(30)));

        Assert.True(CachePolicy.EvaluatesToNotModified(between, withDate));
        Assert.False(CachePolicy.EvaluatesToNotModified(beforeReceipt, withNothing));
        Assert.True(CachePolicy.EvaluatesToNotModified(afterReceipt, withNothing));
    }

    [Fact]
    public void Rfc9110_15_4_5_A_304_carries_the_stored_validator_and_freshness_fields_only()
    {
        // "The server generating a 304 response MUST generate any of the following header fields that would have
        // been sent in a 200 (OK) response to the same request: Content-Location, Date, ETag, and Vary;
        // Cache-Control and Expires"
        var stored = Stored(Seconds(60), headers:
        [
            "ETag: \"v1\"", "Cache-Control: max-age=60", "Date: Mon, 13 Jan 2025 10:00:00 GMT", "Expires: Mon, 13 Jan 2025 10:01:00 GMT",
            "Vary: Accept", "Content-Location: /r.json", "Content-Type: text/plain", "Content-Length: 5", "X-Other: 1",
        ]);

        var names = CachePolicy.NotModifiedHeaders(stored).Select(h => h.Key).Order(StringComparer.Ordinal);

        Assert.Equal(["Cache-Control", "Content-Location", "Date", "ETag", "Expires", "Vary"], names);
    }
}

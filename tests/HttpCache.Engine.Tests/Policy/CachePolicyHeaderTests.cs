using System.Net;
using System.Net.Http.Headers;
using HttpCache.Engine.Policy;
using static HttpCache.Engine.Tests.Policy.PolicyData;

namespace HttpCache.Engine.Tests.Policy;

/// <summary>Vary selection, the headers kept, the 304 merge, validators and bypass.</summary>
public sealed class CachePolicyHeaderTests
{
    private static KeyValuePair<string, string> V(string name, string value) => new(name, value);

    private static StoredResponse Variant(string key, TimeSpan receivedAgo, string[]? headers = null, params KeyValuePair<string, string>[] vary) =>
        Stored(Seconds(3600), receivedAgo, headers, vary, key: key);

    private static string? Value(IEnumerable<KeyValuePair<string, string[]>> headers, string name)
    {
        var values = headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).SelectMany(h => h.Value).ToList();
        return values.Count == 0 ? null : string.Join(", ", values);
    }

    // ---- SelectVariant (§4.1) ----

    [Fact]
    public void Rfc9111_4_1_A_variant_matching_the_Vary_headers_is_selected()
    {
        var json = Variant("json", Seconds(10), ["Vary: Accept"], V("Accept", "application/json"));
        var text = Variant("text", Seconds(10), ["Vary: Accept"], V("Accept", "text/plain"));
        using var request = Request("Accept: text/plain");

        Assert.Same(text, CachePolicy.SelectVariant([json, text], request));
    }

    [Fact]
    public void Rfc9111_4_1_No_matching_variant_is_no_selection()
    {
        var json = Variant("json", Seconds(10), ["Vary: Accept"], V("Accept", "application/json"));
        using var request = Request("Accept: text/html");

        Assert.Null(CachePolicy.SelectVariant([json], request));
    }

    [Fact]
    public void Rfc9111_4_1_An_absent_header_matches_only_a_variant_stored_without_it()
    {
        var without = Variant("without", Seconds(10), ["Vary: Accept-Language"], V("Accept-Language", ""));
        var english = Variant("english", Seconds(5), ["Vary: Accept-Language"], V("Accept-Language", "en"));
        using var bare = Request();
        using var withEnglish = Request("Accept-Language: en");

        Assert.Same(without, CachePolicy.SelectVariant([without, english], bare));
        Assert.Same(english, CachePolicy.SelectVariant([without, english], withEnglish));
    }

    [Fact]
    public void Rfc9111_4_1_Every_Vary_header_must_match()
    {
        var both = Variant("both", Seconds(10), ["Vary: Accept, Accept-Language"], V("Accept", "text/plain"), V("Accept-Language", "en"));
        using var oneDiffers = Request("Accept: text/plain", "Accept-Language: fr");
        using var bothMatch = Request("Accept: text/plain", "Accept-Language: en");

        Assert.Null(CachePolicy.SelectVariant([both], oneDiffers));
        Assert.Same(both, CachePolicy.SelectVariant([both], bothMatch));
    }

    [Fact]
    public void Rfc9111_4_1_Vary_header_names_are_case_insensitive()
    {
        var variant = Variant("v", Seconds(10), ["Vary: accept"], V("accept", "text/plain"));
        using var request = Request("Accept: text/plain");

        Assert.Same(variant, CachePolicy.SelectVariant([variant], request));
    }

    [Fact]
    public void Rfc9111_4_1_VaryStar_is_never_served()
    {
        var star = Variant("star", Seconds(10), ["Vary: *"]);
        using var request = Request();

        Assert.Null(CachePolicy.SelectVariant([star], request));
    }

    [Fact]
    public void Rfc9111_4_1_VaryStar_among_names_is_never_served()
    {
        var star = Variant("star", Seconds(1), ["Vary: Accept, *"], V("Accept", ""));
        var plain = Variant("plain", Seconds(10));
        using var request = Request();

        Assert.Same(plain, CachePolicy.SelectVariant([star, plain], request));
    }

    [Fact]
    public void Rfc9111_4_The_newest_of_several_matches_is_used()
    {
        var old = Variant("old", Seconds(300));
        var newest = Variant("newest", Seconds(5));
        var middle = Variant("middle", Seconds(60));
        using var request = Request();

        Assert.Same(newest, CachePolicy.SelectVariant([old, newest, middle], request));
        Assert.Same(newest, CachePolicy.SelectVariant([newest, middle, old], request));
    }

    [Fact]
    public void A_variant_without_Vary_matches_any_request()
    {
        var plain = Variant("plain", Seconds(10));
        using var request = Request("Accept: anything/at-all");

        Assert.Same(plain, CachePolicy.SelectVariant([plain], request));
    }

    [Fact]
    public void Nothing_stored_selects_nothing()
    {
        using var request = Request();

        Assert.Null(CachePolicy.SelectVariant([], request));
    }

    [Theory]
    [InlineData(new[] { "Accept: text/plain" }, "Accept", "text/plain")]
    [InlineData(new[] { "X-List: b", "X-List: a" }, "X-List", "b, a")]
    [InlineData(new[] { "Accept: text/plain", "Accept: text/html" }, "Accept", "text/html, text/plain")] // order-free: VaryNormalizationTests
    [InlineData(new string[0], "Accept", "")]
    [InlineData(new[] { "Content-Type: application/json" }, "Content-Type", "application/json")]
    public void Rfc9111_4_1_RequestHeaderValue_joins_values_and_reads_content_headers(string[] headers, string name, string expected)
    {
        using var request = Request(headers);

        Assert.Equal(expected, CachePolicy.RequestHeaderValue(request, name));
    }

    [Fact]
    public void VaryValues_records_each_named_request_header_once()
    {
        using var request = Request("Accept: text/plain");
        using var response = Response("Vary: Accept, Accept-Language", "Vary: accept");

        var values = CachePolicy.VaryValues(request, response);

        Assert.Equal([V("Accept", "text/plain"), V("Accept-Language", "")], values);
    }

    [Theory]
    [InlineData("Accept,Accept-Language", new[] { "Accept", "Accept-Language" })]
    [InlineData(" Accept ,  , Cookie ", new[] { "Accept", "Cookie" })]
    [InlineData("*", new[] { "*" })]
    public void VaryNames_splits_and_trims(string vary, string[] names)
    {
        Assert.Equal(names, CachePolicy.VaryNames(vary));
    }

    // ---- Credentials and match headers ----

    private static StoredResponse StoredFor(HttpRequestMessage request, CacheSettings? settings = null, params string[] responseHeaders)
    {
        using var response = Response(responseHeaders);
        return Stored(Seconds(3600), headers: responseHeaders, varyValues: CachePolicy.VaryValues(request, response, settings).ToArray());
    }

    [Fact]
    public void Rfc9111_3_5_Credentials_are_stored_as_a_digest_never_in_clear()
    {
        using var request = Request("Authorization: Bearer s3cret-token");
        using var response = Response();

        var values = CachePolicy.VaryValues(request, response);

        var (name, value) = Assert.Single(values);
        Assert.Equal("Authorization", name);
        Assert.StartsWith("hmac-sha256:", value, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", value, StringComparison.Ordinal);
    }

    [Fact]
    public void Rfc9111_3_5_An_answer_stored_for_one_credential_is_never_served_to_another_or_to_none()
    {
        using var alice = Request("Authorization: Bearer alice");
        var stored = StoredFor(alice);
        using var aliceAgain = Request("Authorization: Bearer alice");
        using var bob = Request("Authorization: Bearer bob");
        using var anonymous = Request();

        Assert.Same(stored, CachePolicy.SelectVariant([stored], aliceAgain));
        Assert.Null(CachePolicy.SelectVariant([stored], bob));
        Assert.Null(CachePolicy.SelectVariant([stored], anonymous));
    }

    [Theory]
    [InlineData("Authorization: Bearer x")]
    [InlineData("Cookie: session=1")]
    [InlineData("Proxy-Authorization: Basic eA==")]
    public void Rfc9111_3_5_An_anonymous_answer_is_never_served_to_a_request_with_credentials(string credential)
    {
        using var anonymous = Request();
        var stored = StoredFor(anonymous);
        using var withCredential = Request(credential);

        Assert.Null(CachePolicy.SelectVariant([stored], withCredential));
    }

    [Fact]
    public void Excluding_a_credential_from_the_key_shares_answers_across_it()
    {
        var settings = CacheSettings.Default with { ExcludeFromKey = new HashSet<string> { "Cookie" } };
        using var first = Request("Cookie: a=1");
        var stored = StoredFor(first, settings);
        using var other = Request("Cookie: a=2");

        Assert.Empty(stored.VaryValues);
        Assert.Same(stored, CachePolicy.SelectVariant([stored], other, settings));
    }

    [Fact]
    public void Match_headers_become_part_of_the_variant()
    {
        var settings = CacheSettings.Default with { MatchHeaders = ["Accept-Language"] };
        using var english = Request("Accept-Language: en");
        var stored = StoredFor(english, settings);
        using var french = Request("Accept-Language: fr");
        using var englishAgain = Request("Accept-Language: en");

        Assert.Null(CachePolicy.SelectVariant([stored], french, settings));
        Assert.Same(stored, CachePolicy.SelectVariant([stored], englishAgain, settings));
    }

    [Fact]
    public void Matching_all_headers_tells_any_difference_apart()
    {
        var settings = CacheSettings.Default with { MatchAllHeaders = true };
        using var first = Request("X-A: 1", "Accept: text/plain");
        var stored = StoredFor(first, settings);
        using var same = Request("Accept: text/plain", "X-A: 1");
        using var different = Request("X-A: 2", "Accept: text/plain");

        Assert.Same(stored, CachePolicy.SelectVariant([stored], same, settings));
        Assert.Null(CachePolicy.SelectVariant([stored], different, settings));
    }

    // ---- StorableHeaders (§3.1) ----

    [Fact]
    public void Rfc9111_3_1_StorableHeaders_drops_hop_by_hop_fields_and_Age()
    {
        using var response = Response(
            "Connection: close, X-Hop",
            "Keep-Alive: timeout=5",
            "Transfer-Encoding: chunked",
            "Proxy-Connection: keep-alive",
            "Upgrade: h2c",
            "Trailer: X-Checksum",
            "X-Hop: secret",
            "Age: 30",
            "ETag: \"v1\"",
            "Cache-Control: max-age=60",
            "X-Custom: kept",
            "Content-Type: text/plain");

        var names = CachePolicy.StorableHeaders(response).Select(h => h.Key).ToHashSet(StringComparer.OrdinalIgnoreCase);

        foreach (var dropped in new[] { "Connection", "Keep-Alive", "Transfer-Encoding", "Proxy-Connection", "Upgrade", "Trailer", "X-Hop", "Age" })
        {
            Assert.DoesNotContain(dropped, names);
        }

        foreach (var kept in new[] { "ETag", "Cache-Control", "X-Custom", "Content-Type" })
        {
            Assert.Contains(kept, names);
        }
    }

    [Fact]
    public void StorableHeaders_keeps_every_value_of_a_repeated_field()
    {
        using var response = Response("Set-Cookie: a=1", "Set-Cookie: b=2");

        var cookies = CachePolicy.StorableHeaders(response).Single(h => h.Key == "Set-Cookie").Value;

        Assert.Equal(["a=1", "b=2"], cookies);
    }

    // ---- MergeNotModified (§3.2, §4.3.4) ----

    private static readonly KeyValuePair<string, string[]>[] StoredHeaders =
    [
        new("ETag", ["\"v1\""]),
        new("Cache-Control", ["max-age=60"]),
        new("X-Old", ["kept"]),
        new("Content-Type", ["text/plain"]),
        new("Content-Length", ["5"]),
        new("Date", ["Mon, 13 Jan 2025 10:00:00 GMT"]),
    ];

    [Fact]
    public void Rfc9111_4_3_4_MergeNotModified_replaces_fields_and_keeps_the_rest()
    {
        using var notModified = Response(HttpStatusCode.NotModified,
            "Cache-Control: max-age=120",
            "Date: Wed, 15 Jan 2025 12:00:00 GMT",
            "X-New: added");

        var merged = CachePolicy.MergeNotModified(StoredHeaders, notModified);

        Assert.Equal("max-age=120", Value(merged, "Cache-Control"));
        Assert.Equal("Wed, 15 Jan 2025 12:00:00 GMT", Value(merged, "Date"));
        Assert.Equal("added", Value(merged, "X-New"));
        Assert.Equal("\"v1\"", Value(merged, "ETag"));
        Assert.Equal("kept", Value(merged, "X-Old"));
        Assert.Equal("text/plain", Value(merged, "Content-Type"));
        Assert.Single(merged, h => h.Key == "Cache-Control");
    }

    [Fact]
    public void Rfc9111_3_2_MergeNotModified_never_takes_Content_Length()
    {
        using var notModified = Response(HttpStatusCode.NotModified);
        notModified.Content.Headers.ContentLength = 0;

        var merged = CachePolicy.MergeNotModified(StoredHeaders, notModified);

        Assert.Equal("5", Value(merged, "Content-Length"));
    }

    [Fact]
    public void Rfc9111_3_2_MergeNotModified_never_takes_hop_by_hop_fields_or_Age()
    {
        using var notModified = Response(HttpStatusCode.NotModified,
            "Connection: close, X-Hop",
            "Keep-Alive: timeout=5",
            "Transfer-Encoding: chunked",
            "X-Hop: secret",
            "Age: 40");

        var merged = CachePolicy.MergeNotModified(StoredHeaders, notModified);

        foreach (var dropped in new[] { "Connection", "Keep-Alive", "Transfer-Encoding", "X-Hop", "Age" })
        {
            Assert.Null(Value(merged, dropped));
        }

        Assert.Equal(StoredHeaders.Length, merged.Count);
    }

    [Fact]
    public void Rfc9111_3_2_MergeNotModified_replaces_a_field_whatever_its_case()
    {
        using var notModified = Response(HttpStatusCode.NotModified, "x-old: replaced");

        var merged = CachePolicy.MergeNotModified(StoredHeaders, notModified);

        Assert.Equal("replaced", Value(merged, "X-Old"));
        Assert.Single(merged, h => string.Equals(h.Key, "X-Old", StringComparison.OrdinalIgnoreCase));
    }

    // ---- AddValidators (§4.3.1) ----

    [Fact]
    public void Rfc9111_4_3_1_Validators_come_from_the_stored_answer()
    {
        var stored = Stored(Seconds(-1), headers: ["ETag: W/\"v1\"", "Last-Modified: Mon, 13 Jan 2025 10:00:00 GMT"]);
        using var request = Request();

        CachePolicy.AddValidators(request, stored);

        Assert.Equal(EntityTagHeaderValue.Parse("W/\"v1\""), Assert.Single(request.Headers.IfNoneMatch));
        Assert.Equal("Mon, 13 Jan 2025 10:00:00 GMT", string.Join(",", request.Headers.GetValues("If-Modified-Since")));
    }

    [Fact]
    public void Rfc9111_4_3_1_No_validators_add_nothing()
    {
        var stored = Stored(Seconds(-1));
        using var request = Request();

        CachePolicy.AddValidators(request, stored);

        Assert.Empty(request.Headers.IfNoneMatch);
        Assert.False(request.Headers.Contains("If-Modified-Since"));
        Assert.False(stored.HasValidator);
    }

    // ---- Bypass ----

    [Theory]
    [InlineData("GET", "", null)]
    [InlineData("HEAD", "", null)]
    [InlineData("POST", "", CacheReason.BypassMethod)]
    [InlineData("GET", "Cache-Control: no-store", CacheReason.BypassRequestNoStore)]
    [InlineData("GET", "If-None-Match: \"v1\"", null)]
    [InlineData("GET", "If-Modified-Since: Mon, 13 Jan 2025 10:00:00 GMT", null)]
    [InlineData("GET", "If-Match: \"v1\"", CacheReason.BypassConditionalRequest)]
    [InlineData("GET", "If-Unmodified-Since: Mon, 13 Jan 2025 10:00:00 GMT", CacheReason.BypassConditionalRequest)]
    [InlineData("GET", "If-Range: \"v1\"", null)]
    [InlineData("GET", "Cache-Control: no-cache", null)]
    public void Bypass_names_why_the_cache_stays_out(string method, string header, CacheReason? reason)
    {
        using var request = header.Length == 0 ? Request(new HttpMethod(method)) : Request(new HttpMethod(method), header);

        Assert.Equal(reason, CachePolicy.Bypass(request, CacheSettings.Default));
    }

    [Theory]
    [InlineData(CacheReason.FreshHit, "fresh-hit")]
    [InlineData(CacheReason.MissNoEntry, "miss-no-entry")]
    [InlineData(CacheReason.NotStorableNoStore, "not-storable-no-store")]
    [InlineData(CacheReason.StaleHitMaxStale, "stale-hit-max-stale")]
    public void Reasons_have_stable_kebab_case_ids(CacheReason reason, string id)
    {
        Assert.Equal(id, reason.ToId());
    }
}

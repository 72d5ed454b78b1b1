using HttpCache.Engine.Policy;
using static HttpCache.Engine.Tests.Policy.PolicyData;

namespace HttpCache.Engine.Tests.Policy;

/// <summary>
/// RFC 9111 §4.1: "The header fields from two requests are defined to match if and only if those in the first
/// request can be transformed to those in the second request by applying any of the following: adding or removing
/// whitespace, where allowed in the header field's syntax; combining multiple header field lines with the same
/// field name (see Section 5.2 of [HTTP]); normalizing both header field values in a way that is known to have
/// identical semantics, according to the header field's specification (e.g., reordering field values when order
/// is not significant; case-normalization, where values are defined to be case-insensitive)."
/// </summary>
public sealed class VaryNormalizationTests
{
    private static string Value(string name, params string[] lines) =>
        CachePolicy.RequestHeaderValue(Request(lines.Select(l => name + ": " + l).ToArray()), name);

    public static TheoryData<string, string[], string[], bool> Cases => new()
    {
        // field, first request's lines, second request's lines, match
        { "X-Custom", ["a,b"], ["a, b"], true },
        { "X-Custom", ["a ,\tb"], ["a,b"], true },
        { "X-Custom", ["a", "b"], ["a, b"], true },
        { "X-Custom", ["a, b"], ["b, a"], false },
        { "X-Custom", ["A"], ["a"], false },
        { "X-Custom", ["\"x,y\", z"], ["\"x,y\",z"], true },
        { "Accept-Language", ["en-US, fr"], ["fr, en-US"], true },
        { "Accept-Language", ["en-us"], ["EN-US"], true },
        { "Accept-Language", ["en;q=1.0, fr;q=0.50"], ["fr; q=0.5, en"], true },
        { "Accept-Language", ["en, fr;q=0.5"], ["en;q=0.5, fr"], false },
        { "Accept-Language", ["en"], ["fr"], false },
        { "Accept", ["text/html, application/json;q=0.9"], ["application/json; q=0.900,text/html"], true },
        { "Accept", ["text/html"], ["text/plain"], false },
        { "Accept-Encoding", ["gzip, br"], ["br,gzip"], true },
        { "Accept-Encoding", ["GZIP"], ["gzip"], true },
        { "Accept-Encoding", ["gzip"], ["gzip, br"], false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Rfc9111_4_1_Equivalent_field_values_match(string name, string[] first, string[] second, bool match)
    {
        Assert.Equal(match, Value(name, first) == Value(name, second));
    }

    [Fact]
    public void Rfc9111_4_1_A_stored_variant_is_selected_by_an_equivalent_Accept_Language()
    {
        using var storedRequest = Request("Accept-Language: en-US, fr;q=0.5");
        using var response = Response("Vary: Accept-Language");
        var stored = Stored(Seconds(60), varyValues: [.. CachePolicy.VaryValues(storedRequest, response)]);
        using var equivalent = Request("Accept-Language: FR;q=0.50 , en-us");
        using var different = Request("Accept-Language: de");

        Assert.Same(stored, CachePolicy.SelectVariant([stored], equivalent));
        Assert.Null(CachePolicy.SelectVariant([stored], different));
    }
}

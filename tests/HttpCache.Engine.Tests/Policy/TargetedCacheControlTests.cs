using HttpCache.Engine.Policy;
using static HttpCache.Engine.Tests.Policy.PolicyData;

namespace HttpCache.Engine.Tests.Policy;

/// <summary>
/// Targeted cache-control fields (RFC 9213): CDN-Cache-Control, parsed as a Structured Field Dictionary, wins
/// over Cache-Control and Expires in a shared session.
/// </summary>
public sealed class TargetedCacheControlTests
{
    private static readonly CacheSettings Shared = CacheSettings.Default with { Shared = true };

    public static TheoryData<string, string?> ParseCases => new()
    {
        // field value, the directives read back as "name=value|name" (null: invalid, the field is ignored)
        { "max-age=60", "max-age=60" },
        { "max-age=60, no-store", "max-age=60|no-store" },
        { "no-store , max-age=60", "max-age=60|no-store" },
        { "max-age=60;foo=bar", "max-age=60" },
        { "private=\"X-User\"", "private=X-User" },
        { "must-revalidate=?1", "must-revalidate" },
        { "no-store=?0, max-age=5", "max-age=5" },
        { "max-age=5, max-age=10", "max-age=10" },
        // RFC 8941: keys are lower case, a list has no trailing comma, a string is closed.
        { "Max-Age=60", null },
        { "max-age=60,", null },
        { "max-age=\"60", null },
        { "max-age=60 no-store", null },
        { "", null },
        { "max-age=1234567890123456", null },
    };

    [Theory]
    [MemberData(nameof(ParseCases))]
    public void Rfc9213_2_1_The_field_is_a_Structured_Field_Dictionary(string value, string? expected)
    {
        var directives = TargetedCacheControl.Parse([value]);

        Assert.Equal(expected, directives is null ? null : Describe(directives, "max-age", "no-store", "private", "must-revalidate"));
    }

    private static string Describe(CacheDirectives directives, params string[] names) =>
        string.Join("|", names.Where(directives.Has).Select(n => directives.Value(n) is { } v ? n + "=" + v : n));

    private static StoreDecision Store(CacheSettings settings, params string[] headers)
    {
        using var request = Request();
        using var response = Response(headers);
        return CachePolicy.Store(request, response, settings, CacheRequestOptions.Default, Now, Now);
    }

    [Fact]
    public void Rfc9213_2_1_A_valid_targeted_field_overrides_Cache_Control_and_Expires_in_a_shared_cache()
    {
        // "the cache MUST select the first ... field with a valid, non-empty value and use its value to determine the
        // caching policy for the response, and MUST ignore the Cache-Control and Expires header fields"
        Assert.Equal(Now + Seconds(60), Store(Shared, "Cache-Control: no-store", "CDN-Cache-Control: max-age=60").ExpiresAt);
        Assert.Equal(CacheReason.NotStorableNoStore, Store(Shared, "Cache-Control: max-age=60", "CDN-Cache-Control: no-store").Reason);
        Assert.Equal(CacheReason.Stored, Store(Shared, "Cache-Control: private", "CDN-Cache-Control: max-age=60").Reason);
        Assert.Null(Store(Shared, "Date: Wed, 15 Jan 2025 12:00:00 GMT", "Expires: Wed, 15 Jan 2025 13:00:00 GMT", "CDN-Cache-Control: must-revalidate").ExpiresAt);
    }

    [Fact]
    public void Rfc9213_2_1_An_invalid_or_empty_targeted_field_leaves_Cache_Control_in_charge()
    {
        // "... unless no valid, non-empty value is available from the listed header fields"
        Assert.Equal(Now + Seconds(30), Store(Shared, "Cache-Control: max-age=30", "CDN-Cache-Control: Max-Age=60").ExpiresAt);
        Assert.Equal(Now + Seconds(30), Store(Shared, "Cache-Control: max-age=30", "CDN-Cache-Control: max-age=60,").ExpiresAt);
    }

    [Fact]
    public void A_private_session_ignores_the_targeted_field()
    {
        Assert.Equal(CacheReason.NotStorableNoStore, Store(CacheSettings.Default, "Cache-Control: no-store", "CDN-Cache-Control: max-age=60").Reason);
    }

    [Fact]
    public void The_session_names_its_targeted_field()
    {
        var fastly = Shared with { TargetedCacheControl = "Fastly-Cache-Control" };
        var none = Shared with { TargetedCacheControl = "" };

        Assert.Equal(Now + Seconds(60), Store(fastly, "Cache-Control: no-store", "Fastly-Cache-Control: max-age=60").ExpiresAt);
        Assert.Equal(CacheReason.NotStorableNoStore, Store(fastly, "Cache-Control: no-store", "CDN-Cache-Control: max-age=60").Reason);
        Assert.Equal(CacheReason.NotStorableNoStore, Store(none, "Cache-Control: no-store", "CDN-Cache-Control: max-age=60").Reason);
    }

    [Fact]
    public void Rfc9213_2_1_A_stored_answers_targeted_directives_govern_its_reuse()
    {
        var stored = Stored(Seconds(-10), headers: ["Cache-Control: max-age=60, stale-while-revalidate=600", "CDN-Cache-Control: max-age=60, must-revalidate", "ETag: \"v1\""]);
        using var request = Request();

        Assert.False(CachePolicy.StaleWhileRevalidateAllowed(stored, request, Shared, Now));
        Assert.True(CachePolicy.StaleWhileRevalidateAllowed(stored, request, CacheSettings.Default, Now));
    }
}

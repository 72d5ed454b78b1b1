using System.Net;
using HttpCache.Engine.Policy;
using static HttpCache.Engine.Tests.Policy.PolicyData;

namespace HttpCache.Engine.Tests.Policy;

/// <summary>
/// The raw field parsers (<see cref="HttpFields"/>): Age (RFC 9111 §5.1, §1.2.2) and HTTP-date
/// (RFC 9110 §5.6.7) over valid, obsolete and invalid forms, and what an invalid field means for freshness.
/// </summary>
public sealed class FieldParsingTests
{
    public static TheoryData<string, string[], long?> AgeCases => new()
    {
        // name, field lines, expected seconds (null: ignored)
        { "plain", ["60"], 60 },
        { "zero", ["0"], 0 },
        { "leading zeros", ["0007"], 7 },
        { "OWS around the value", [" 60\t"], 60 },
        // §5.1: "a cache encountering a message with a list-based Age field value SHOULD use the first member"
        { "a list: the first member", ["7200, 0"], 7200 },
        { "two lines: the first line", ["7200", "0"], 7200 },
        // §1.2.2: "If a cache receives a delta-seconds value greater than the greatest integer it can
        // represent, or if any of its subsequent calculations overflows, the cache MUST consider the value
        // to be 2147483648 (2^31)"
        { "2^31 exactly", ["2147483648"], 2147483648 },
        { "past 2^31", ["2147483649"], 2147483648 },
        { "past long", ["99999999999999999999999"], 2147483648 },
        // §5.1: "If the field value (after discarding additional members, as per above) is invalid (e.g., it
        // contains something other than a non-negative integer), a cache SHOULD ignore the field."
        { "a suffix", ["60s"], null },
        { "a parameter", ["60;foo=bar"], null },
        { "negative", ["-5"], null },
        { "a sign", ["+5"], null },
        { "a fraction", ["1.5"], null },
        { "empty", [""], null },
        { "an empty first member", [", 60"], null },
        { "text", ["abc"], null },
    };

    [Theory]
    [MemberData(nameof(AgeCases))]
    public void Rfc9111_5_1_Age_is_the_first_member_digits_only(string name, string[] lines, long? expectedSeconds)
    {
        var expected = expectedSeconds is { } s ? TimeSpan.FromSeconds(s) : (TimeSpan?)null;

        Assert.True(expected == HttpFields.Age(lines), $"{name}: got {HttpFields.Age(lines)}");
    }

    [Fact]
    public void Rfc9111_5_1_No_Age_field_is_no_age() => Assert.Null(HttpFields.Age((IReadOnlyList<string>?)null));

    private static readonly DateTimeOffset Nov6 = new(1994, 11, 6, 8, 49, 37, TimeSpan.Zero);

    public static TheoryData<string, string, DateTimeOffset?> DateCases => new()
    {
        // name, field value, expected instant (null: invalid). Reference time: PolicyData.Now (2025).
        { "IMF-fixdate", "Sun, 06 Nov 1994 08:49:37 GMT", Nov6 },
        { "IMF-fixdate, leap second", "Sat, 31 Dec 2016 23:59:60 GMT", new DateTimeOffset(2017, 1, 1, 0, 0, 0, TimeSpan.Zero) },
        // RFC 9110 §5.6.7: "A recipient that parses a timestamp value in an HTTP field MUST accept all three
        // HTTP-date formats."
        { "RFC 850", "Sunday, 06-Nov-94 08:49:37 GMT", Nov6 },
        { "asctime, one-digit day", "Sun Nov  6 08:49:37 1994", Nov6 },
        { "asctime, two-digit day", "Wed Nov 16 08:49:37 1994", Nov6.AddDays(10) },
        // "Recipients of a timestamp value in rfc850-date format, which uses a two-digit year, MUST interpret a
        // timestamp that appears to be more than 50 years in the future as representing the most recent year
        // in the past that had the same last two digits."
        { "RFC 850, year within 50 years ahead", "Friday, 01-Jan-70 00:00:00 GMT", new DateTimeOffset(2070, 1, 1, 0, 0, 0, TimeSpan.Zero) },
        { "RFC 850, year more than 50 years ahead", "Friday, 01-Jan-99 00:00:00 GMT", new DateTimeOffset(1999, 1, 1, 0, 0, 0, TimeSpan.Zero) },
        { "RFC 850, this century", "Wednesday, 15-Jan-25 12:00:00 GMT", Now },
        // Anything else is not an HTTP-date.
        { "UTC instead of GMT", "Sun, 06 Nov 1994 08:49:37 UTC", null },
        { "a numeric zone", "Sun, 06 Nov 1994 08:49:37 +0000", null },
        { "no zone", "Sun, 06 Nov 1994 08:49:37", null },
        { "doubled space", "Sun, 06 Nov 1994  08:49:37 GMT", null },
        { "one-digit hour", "Sun, 06 Nov 1994 8:49:37 GMT", null },
        { "one-digit day", "Sun, 6 Nov 1994 08:49:37 GMT", null },
        { "two-digit year in IMF-fixdate", "Sun, 06 Nov 94 08:49:37 GMT", null },
        { "lower-case month", "Sun, 06 nov 1994 08:49:37 GMT", null },
        { "lower-case GMT", "Sun, 06 Nov 1994 08:49:37 gmt", null },
        { "long day name in IMF-fixdate", "Sunday, 06 Nov 1994 08:49:37 GMT", null },
        { "short day name in RFC 850", "Sun, 06-Nov-94 08:49:37 GMT", null },
        { "four-digit year in RFC 850", "Sunday, 06-Nov-1994 08:49:37 GMT", null },
        { "asctime with a zone", "Sun Nov  6 08:49:37 1994 GMT", null },
        { "hour 24", "Sun, 06 Nov 1994 24:00:00 GMT", null },
        { "minute 60", "Sun, 06 Nov 1994 08:60:00 GMT", null },
        { "30 February", "Wed, 30 Feb 2000 00:00:00 GMT", null },
        { "day 00", "Sun, 00 Nov 1994 08:49:37 GMT", null },
        { "a number", "0", null },
        { "minus one", "-1", null },
        { "empty", "", null },
        { "ISO 8601", "1994-11-06T08:49:37Z", null },
    };

    [Theory]
    [MemberData(nameof(DateCases))]
    public void Rfc9110_5_6_7_HTTP_date_forms(string name, string value, DateTimeOffset? expected)
    {
        var valid = HttpFields.TryParseDate(value, Now, out var parsed);

        Assert.True(expected is null ? !valid : valid && parsed == expected, $"{name}: valid={valid}, parsed={parsed:u}");
    }

    [Fact]
    public void Rfc9111_5_3_More_than_one_Expires_line_is_invalid()
    {
        // RFC 9111 §5.3: Expires = HTTP-date, one value; "A cache recipient MUST interpret invalid date
        // formats ... as representing a time in the past". Two lines are not one HTTP-date.
        Assert.Null(HttpFields.Date(["Sun, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT"], Now));
        Assert.Equal(Nov6, HttpFields.Date(["Sun, 06 Nov 1994 08:49:37 GMT"], Now));
    }

    public static TheoryData<string, string[], double?> ExpiresLifetimeCases => new()
    {
        // name, Expires lines (Date is PolicyData.Now), expected lifetime in seconds (null: none stated)
        { "IMF-fixdate an hour ahead", ["Wed, 15 Jan 2025 13:00:00 GMT"], 3600 },
        { "RFC 850 an hour ahead", ["Wednesday, 15-Jan-25 13:00:00 GMT"], 3600 },
        { "asctime an hour ahead", ["Wed Jan 15 13:00:00 2025"], 3600 },
        // RFC 9111 §5.3: "A cache recipient MUST interpret invalid date formats, especially the value "0",
        // as representing a time in the past (i.e., "already expired")."
        { "UTC: invalid, already expired", ["Wed, 15 Jan 2025 13:00:00 UTC"], 0 },
        { "doubled space: invalid", ["Wed, 15 Jan 2025  13:00:00 GMT"], 0 },
        { "one-digit hour: invalid", ["Wed, 15 Jan 2025 1:00:00 GMT"], 0 },
        { "\"0\": invalid", ["0"], 0 },
        { "two lines: invalid", ["Wed, 15 Jan 2025 13:00:00 GMT", "Wed, 15 Jan 2025 14:00:00 GMT"], 0 },
        { "in the past", ["Wed, 15 Jan 2025 11:00:00 GMT"], 0 },
    };

    [Theory]
    [MemberData(nameof(ExpiresLifetimeCases))]
    public void Rfc9111_5_3_Expires_lifetime(string name, string[] expires, double? expectedSeconds)
    {
        using var response = Response("Date: Wed, 15 Jan 2025 12:00:00 GMT");
        response.Content.Headers.TryAddWithoutValidation("Expires", expires);

        var lifetime = CachePolicy.ExplicitLifetime(response, CacheSettings.Default, Now);

        Assert.True(lifetime == (expectedSeconds is { } s ? Seconds(s) : null), $"{name}: got {lifetime}");
    }

    [Fact]
    public void Rfc9111_4_2_1_An_invalid_Date_is_ignored_and_the_receipt_time_used()
    {
        // RFC 9110 §6.6.1: "A recipient with a clock that receives a response message without a Date header
        // field MUST record the time it was received"; a Date with a one-digit hour is no HTTP-date.
        using var response = Response("Date: Wed, 15 Jan 2025 1:00:00 GMT", "Expires: Wed, 15 Jan 2025 13:00:00 GMT");

        Assert.Equal(Seconds(3600), CachePolicy.ExplicitLifetime(response, CacheSettings.Default, Now));
        Assert.Equal(TimeSpan.Zero, CachePolicy.InitialAge(response, Now, Now));
    }

    [Theory]
    [InlineData("2147483648", true)]
    [InlineData("2147483649", true)]
    [InlineData("7200, 0", false)]
    [InlineData("60s", false)]
    public void Rfc9111_1_2_2_An_Age_past_2_31_makes_any_lifetime_stale(string age, bool stale)
    {
        // The largest lifetime max-age can state is 2^31 - 1 seconds, less than the 2^31 an overflowing Age becomes.
        using var response = Response("Cache-Control: max-age=2147483647", $"Age: {age}");

        var decision = CachePolicy.Store(Request(), response, CacheSettings.Default, CacheRequestOptions.Default, Now, Now);

        Assert.True(decision.Store);
        Assert.Equal(stale, decision.ExpiresAt <= Now);
    }

    [Fact]
    public void Rfc9111_5_1_Age_7200_0_counts_as_7200()
    {
        using var response = Response("Cache-Control: max-age=3600", "Age: 7200, 0");

        var decision = CachePolicy.Store(Request(), response, CacheSettings.Default, CacheRequestOptions.Default, Now, Now);

        Assert.Equal(Seconds(7200), decision.InitialAge);
        Assert.True(decision.ExpiresAt < Now);
    }

    [Fact]
    public void Reading_the_fields_never_rewrites_them()
    {
        using var response = Response(HttpStatusCode.OK, "Date: Wed, 15 Jan 2025 12:00:00 GMT", "Age: 7200, 0", "Vary: accept,  Accept-Language");
        response.Content.Headers.TryAddWithoutValidation("Expires", "Wed, 15 Jan 2025 13:00:00 UTC");
        response.Content.Headers.TryAddWithoutValidation("Last-Modified", "Wednesday, 15-Jan-25 11:00:00 GMT");

        _ = CachePolicy.Store(Request(), response, CacheSettings.Default with { HeuristicFreshness = true }, CacheRequestOptions.Default, Now, Now);
        _ = CachePolicy.VaryValues(Request(), response);
        var stored = CachePolicy.StorableHeaders(response).ToDictionary(h => h.Key, h => string.Join("|", h.Value), StringComparer.OrdinalIgnoreCase);

        Assert.Equal("Wed, 15 Jan 2025 13:00:00 UTC", stored["Expires"]);
        Assert.Equal("Wednesday, 15-Jan-25 11:00:00 GMT", stored["Last-Modified"]);
        Assert.Equal("accept,  Accept-Language", stored["Vary"]);
        Assert.Equal("Wed, 15 Jan 2025 12:00:00 GMT", stored["Date"]);
    }
}

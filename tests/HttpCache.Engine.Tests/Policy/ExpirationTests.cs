using HttpCache.Engine.Policy;

namespace HttpCache.Engine.Tests.Policy;

public sealed class ExpirationTests
{
    private static readonly DateTimeOffset Received = new(2024, 5, 6, 7, 8, 9, TimeSpan.Zero);

    public static TheoryData<string, object, ExpirationKind, double> Accepted => new()
    {
        // name, value, kind, seconds (for After)
        { "int seconds", 300, ExpirationKind.After, 300 },
        { "long seconds", 300L, ExpirationKind.After, 300 },
        { "short seconds", (short)5, ExpirationKind.After, 5 },
        { "byte seconds", (byte)7, ExpirationKind.After, 7 },
        { "uint seconds", 9u, ExpirationKind.After, 9 },
        { "int 0", 0, ExpirationKind.ExpireImmediately, 0 },
        { "int -1", -1, ExpirationKind.NeverExpire, 0 },
        { "long -1", -1L, ExpirationKind.NeverExpire, 0 },
        { "double seconds", 1.5, ExpirationKind.After, 1.5 },
        { "double 0", 0.0, ExpirationKind.ExpireImmediately, 0 },
        { "double -1", -1.0, ExpirationKind.NeverExpire, 0 },
        { "float seconds", 2.5f, ExpirationKind.After, 2.5 },
        { "decimal seconds", 2.25m, ExpirationKind.After, 2.25 },
        { "TimeSpan", TimeSpan.FromMinutes(5), ExpirationKind.After, 300 },
        { "TimeSpan zero", TimeSpan.Zero, ExpirationKind.ExpireImmediately, 0 },
        { "text seconds", "300", ExpirationKind.After, 300 },
        { "text seconds padded", "  300 ", ExpirationKind.After, 300 },
        { "text fractional seconds", "0.5", ExpirationKind.After, 0.5 },
        { "text bare number is seconds, not days", "5", ExpirationKind.After, 5 },
        { "text 0", "0", ExpirationKind.ExpireImmediately, 0 },
        { "text -1", "-1", ExpirationKind.NeverExpire, 0 },
        { "text TimeSpan", "00:05:00", ExpirationKind.After, 300 },
        { "text TimeSpan with days", "1.00:00:00", ExpirationKind.After, 86400 },
        { "text TimeSpan zero", "00:00:00", ExpirationKind.ExpireImmediately, 0 },
        { "ISO 8601 minutes", "PT5M", ExpirationKind.After, 300 },
        { "ISO 8601 lower case", "pt5m", ExpirationKind.After, 300 },
        { "ISO 8601 days and hours", "P1DT2H", ExpirationKind.After, 93600 },
        { "NeverExpire", "NeverExpire", ExpirationKind.NeverExpire, 0 },
        { "neverexpire", "neverexpire", ExpirationKind.NeverExpire, 0 },
        { "NEVEREXPIRE", "NEVEREXPIRE", ExpirationKind.NeverExpire, 0 },
        { "ExpireImmediately", "ExpireImmediately", ExpirationKind.ExpireImmediately, 0 },
        { "expireimmediately", "expireimmediately", ExpirationKind.ExpireImmediately, 0 },
        { "EXPIREIMMEDIATELY", "EXPIREIMMEDIATELY", ExpirationKind.ExpireImmediately, 0 },
        { "DoNotCache", "DoNotCache", ExpirationKind.DoNotCache, 0 },
        { "donotcache", "donotcache", ExpirationKind.DoNotCache, 0 },
        { "DONOTCACHE", "DONOTCACHE", ExpirationKind.DoNotCache, 0 },
        { "an Expiration passes through", Expiration.After(TimeSpan.FromSeconds(42)), ExpirationKind.After, 42 },
    };

    [Theory]
    [MemberData(nameof(Accepted))]
    public void TryParse_accepts(string name, object value, ExpirationKind kind, double seconds)
    {
        Assert.True(Expiration.TryParse(value, out var expiration, out var error), $"{name}: {error}");
        Assert.Equal(string.Empty, error);
        Assert.Equal(kind, expiration.Kind);
        Assert.Equal(kind == ExpirationKind.After ? TimeSpan.FromSeconds(seconds) : TimeSpan.Zero, expiration.Duration);
        Assert.Equal(expiration, Expiration.Parse(value));
    }

    [Fact]
    public void TryParse_accepts_a_DateTimeOffset_as_an_instant()
    {
        var instant = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.FromHours(-5));

        Assert.True(Expiration.TryParse(instant, out var expiration, out _));

        Assert.Equal(ExpirationKind.At, expiration.Kind);
        Assert.Equal(instant, expiration.Instant);
        Assert.Equal(instant, expiration.ExpiresAt(Received));
    }

    [Fact]
    public void TryParse_accepts_a_UTC_DateTime_as_that_instant()
    {
        var utc = new DateTime(2030, 1, 2, 3, 4, 5, DateTimeKind.Utc);

        Assert.True(Expiration.TryParse(utc, out var expiration, out _));

        Assert.Equal(ExpirationKind.At, expiration.Kind);
        Assert.Equal(new DateTimeOffset(utc), expiration.Instant);
    }

    [Fact]
    public void TryParse_reads_an_unspecified_DateTime_as_local_time()
    {
        var unspecified = new DateTime(2030, 1, 2, 3, 4, 5, DateTimeKind.Unspecified);

        Assert.True(Expiration.TryParse(unspecified, out var expiration, out _));

        Assert.Equal(new DateTimeOffset(DateTime.SpecifyKind(unspecified, DateTimeKind.Local)), expiration.Instant);
    }

    public static TheoryData<string, object?> Rejected => new()
    {
        { "int -5", -5 },
        { "long -2", -2L },
        { "double -0.5", -0.5 },
        { "text -5", "-5" },
        { "text soon", "soon" },
        { "empty text", "" },
        { "blank text", "   " },
        { "null", null },
        { "NaN", double.NaN },
        { "infinity", double.PositiveInfinity },
        { "text NaN", "NaN" },
        { "more seconds than a TimeSpan holds", ulong.MaxValue },
        { "negative TimeSpan", TimeSpan.FromSeconds(-1) },
        { "negative text TimeSpan", "-00:05:00" },
        { "broken ISO 8601", "PTfiveM" },
        { "a Guid", Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e") },
        { "a bool", true },
    };

    [Theory]
    [MemberData(nameof(Rejected))]
    public void TryParse_rejects_with_a_message_naming_the_accepted_forms(string name, object? value)
    {
        Assert.False(Expiration.TryParse(value, out _, out var error), name);
        Assert.Contains(Expiration.AcceptedForms, error, StringComparison.Ordinal);

        var thrown = Assert.Throws<FormatException>(() => Expiration.Parse(value));
        Assert.Equal(error, thrown.Message);
    }

    [Fact]
    public void The_accepted_forms_name_every_form()
    {
        foreach (var form in new[] { "300", "-1", "00:05:00", "PT5M", "DateTime", "NeverExpire", "ExpireImmediately", "DoNotCache" })
        {
            Assert.Contains(form, Expiration.AcceptedForms, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_rejected_Guid_is_named_in_the_message()
    {
        var guid = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e");

        Expiration.TryParse(guid, out _, out var error);

        Assert.Contains(guid.ToString(), error, StringComparison.Ordinal);
        Assert.Contains(nameof(Guid), error, StringComparison.Ordinal);
    }

    public static TheoryData<string, Expiration, DateTimeOffset?> ExpiresAtCases => new()
    {
        { "NeverExpire: never stale", Expiration.NeverExpire, null },
        { "ExpireImmediately: stale on arrival", Expiration.ExpireImmediately, Received },
        { "DoNotCache: stale on arrival", Expiration.DoNotCache, Received },
        { "After: counted from arrival", Expiration.After(TimeSpan.FromMinutes(5)), Received.AddMinutes(5) },
        { "After zero is ExpireImmediately", Expiration.After(TimeSpan.Zero), Received },
        { "At: the instant, whenever it arrives", Expiration.At(Received.AddDays(-1)), Received.AddDays(-1) },
    };

    [Theory]
    [MemberData(nameof(ExpiresAtCases))]
    public void ExpiresAt(string name, Expiration expiration, DateTimeOffset? expected)
    {
        Assert.Equal((name, expected), (name, expiration.ExpiresAt(Received)));
    }

    [Fact]
    public void After_zero_is_the_ExpireImmediately_value()
    {
        Assert.Equal(Expiration.ExpireImmediately, Expiration.After(TimeSpan.Zero));
    }

    [Fact]
    public void After_refuses_a_negative_duration()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Expiration.After(TimeSpan.FromTicks(-1)));
    }

    [Fact]
    public void ExpiresAt_does_not_overflow_for_the_longest_accepted_lifetime()
    {
        // Parse accepts up to TimeSpan.MaxValue seconds; the session then computes ExpiresAt for every stored answer.
        var longest = Expiration.Parse(TimeSpan.MaxValue);

        var expiresAt = Record.Exception(() => longest.ExpiresAt(Received));

        Assert.Null(expiresAt);
        var at = longest.ExpiresAt(Received);
        Assert.True(at is null || at > Received.AddYears(1000), $"{at} is not far in the future");
    }

    [Theory]
    [InlineData(300, "00:05:00")]
    [InlineData(90061, "1.01:01:01")]
    public void ToString_of_After_is_the_constant_TimeSpan_form_and_parses_back(int seconds, string text)
    {
        var expiration = Expiration.After(TimeSpan.FromSeconds(seconds));

        Assert.Equal(text, expiration.ToString());
        Assert.Equal(expiration, Expiration.Parse(expiration.ToString()));
    }

    [Fact]
    public void ToString_of_the_special_values_parses_back()
    {
        foreach (var special in new[] { Expiration.NeverExpire, Expiration.ExpireImmediately, Expiration.DoNotCache })
        {
            Assert.Equal(special, Expiration.Parse(special.ToString()));
        }
    }

    [Fact]
    public void Only_DoNotCache_is_DoNotCache()
    {
        Assert.True(Expiration.DoNotCache.IsDoNotCache);
        Assert.False(Expiration.ExpireImmediately.IsDoNotCache);
        Assert.False(Expiration.NeverExpire.IsDoNotCache);
        Assert.False(Expiration.After(TimeSpan.FromSeconds(1)).IsDoNotCache);
    }

    private static TimeZoneInfo Berlin => TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

    public static TheoryData<string, DateTimeOffset, DateTimeOffset> EndOfDayCases => new()
    {
        // name, received (UTC), expected (UTC)
        { "winter evening: local midnight is 23:00 UTC", new(2025, 1, 15, 20, 0, 0, TimeSpan.Zero), new(2025, 1, 15, 23, 0, 0, TimeSpan.Zero) },
        { "just after local midnight: the whole next day", new(2025, 1, 15, 23, 0, 0, TimeSpan.Zero), new(2025, 1, 16, 23, 0, 0, TimeSpan.Zero) },
        { "summer: local midnight is 22:00 UTC", new(2025, 7, 1, 12, 0, 0, TimeSpan.Zero), new(2025, 7, 1, 22, 0, 0, TimeSpan.Zero) },
        { "the day clocks go forward: midnight before the jump", new(2025, 3, 29, 12, 0, 0, TimeSpan.Zero), new(2025, 3, 29, 23, 0, 0, TimeSpan.Zero) },
        { "the 23-hour day itself", new(2025, 3, 30, 12, 0, 0, TimeSpan.Zero), new(2025, 3, 30, 22, 0, 0, TimeSpan.Zero) },
        { "the 25-hour day", new(2025, 10, 26, 12, 0, 0, TimeSpan.Zero), new(2025, 10, 26, 23, 0, 0, TimeSpan.Zero) },
    };

    [Theory]
    [MemberData(nameof(EndOfDayCases))]
    public void EndOfDay_is_the_next_local_midnight(string name, DateTimeOffset received, DateTimeOffset expected)
    {
        Assert.Equal((name, expected), (name, Expiration.EndOfDay(Berlin).ExpiresAt(received)));
    }

    [Theory]
    [InlineData(2025, 1, 13, 2025, 1, 19)] // Monday → the coming Sunday night
    [InlineData(2025, 1, 18, 2025, 1, 19)] // Saturday
    [InlineData(2025, 1, 19, 2025, 1, 19)] // Sunday noon → that night
    [InlineData(2025, 3, 29, 2025, 3, 30)] // the week clocks go forward
    public void EndOfWeek_is_Sunday_midnight_local(int y, int m, int d, int sundayY, int sundayM, int sundayD)
    {
        var receivedLocalNoon = new DateTimeOffset(new DateTime(y, m, d, 12, 0, 0), Berlin.GetUtcOffset(new DateTime(y, m, d, 12, 0, 0)));
        var mondayMidnight = new DateTime(sundayY, sundayM, sundayD).AddDays(1);
        var expected = new DateTimeOffset(mondayMidnight, Berlin.GetUtcOffset(mondayMidnight));

        Assert.Equal(expected, Expiration.EndOfWeek(Berlin).ExpiresAt(receivedLocalNoon));
    }

    [Fact]
    public void EndOfDay_names_its_zone()
    {
        Assert.Equal("EndOfDay (Europe/Berlin)", Expiration.EndOfDay(Berlin).ToString());
        Assert.Throws<ArgumentNullException>(() => Expiration.EndOfDay(null!));
    }
}

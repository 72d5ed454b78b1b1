using System.Globalization;
using System.Xml;

namespace HttpCache.Engine.Policy;

/// <summary>What kind of lifetime an <see cref="Expiration"/> gives.</summary>
public enum ExpirationKind
{
    /// <summary>Stored, never stale.</summary>
    NeverExpire,
    /// <summary>Stored, but stale at once: revalidated before every use.</summary>
    ExpireImmediately,
    /// <summary>Not stored at all.</summary>
    DoNotCache,
    /// <summary>Fresh for a duration counted from when the response is received.</summary>
    After,
    /// <summary>Fresh until a fixed instant.</summary>
    At,
    /// <summary>Fresh until the end of the day the response arrives on, in a time zone.</summary>
    EndOfDay,
    /// <summary>Fresh until the end of the (ISO, Monday-first) week the response arrives in, in a time zone.</summary>
    EndOfWeek,
}

/// <summary>
/// A lifetime a user gives: seconds, a TimeSpan, a DateTime, or one of the special values. One parser
/// serves the engine's API and every cmdlet's <c>-ExpireAfter</c>, so the accepted forms are the same everywhere.
/// </summary>
public readonly record struct Expiration
{
    private Expiration(ExpirationKind kind, TimeSpan duration, DateTimeOffset instant, TimeZoneInfo? timeZone = null)
    {
        Kind = kind;
        Duration = duration;
        Instant = instant;
        TimeZone = timeZone;
    }

    /// <summary>The time zone of a calendar expiration.</summary>
    public TimeZoneInfo? TimeZone { get; }

    /// <summary>The kind of lifetime.</summary>
    public ExpirationKind Kind { get; }

    /// <summary>The duration, for <see cref="ExpirationKind.After"/>.</summary>
    public TimeSpan Duration { get; }

    /// <summary>The instant, for <see cref="ExpirationKind.At"/>.</summary>
    public DateTimeOffset Instant { get; }

    /// <summary>Stored and never stale (the default, as requests-cache).</summary>
    public static Expiration NeverExpire { get; } = new(ExpirationKind.NeverExpire, default, default);

    /// <summary>Stored, revalidated before every use.</summary>
    public static Expiration ExpireImmediately { get; } = new(ExpirationKind.ExpireImmediately, default, default);

    /// <summary>Not stored.</summary>
    public static Expiration DoNotCache { get; } = new(ExpirationKind.DoNotCache, default, default);

    /// <summary>Fresh for <paramref name="duration"/> after the response arrives; zero means expire immediately.</summary>
    public static Expiration After(TimeSpan duration)
    {
        if (duration < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(duration), duration, "An expiration duration cannot be negative.");
        }

        return duration == TimeSpan.Zero ? ExpireImmediately : new(ExpirationKind.After, duration, default);
    }

    /// <summary>Fresh until <paramref name="instant"/>.</summary>
    public static Expiration At(DateTimeOffset instant) => new(ExpirationKind.At, default, instant);

    /// <summary>Fresh until the end of the day the response arrives on, in <paramref name="timeZone"/> (DST-correct).</summary>
    public static Expiration EndOfDay(TimeZoneInfo timeZone) =>
        new(ExpirationKind.EndOfDay, default, default, timeZone ?? throw new ArgumentNullException(nameof(timeZone)));

    /// <summary>Fresh until the end of the week (Sunday midnight) the response arrives in, in <paramref name="timeZone"/>.</summary>
    public static Expiration EndOfWeek(TimeZoneInfo timeZone) =>
        new(ExpirationKind.EndOfWeek, default, default, timeZone ?? throw new ArgumentNullException(nameof(timeZone)));

    /// <summary>True when responses under this lifetime are not stored.</summary>
    public bool IsDoNotCache => Kind == ExpirationKind.DoNotCache;

    /// <summary>The fresh-until instant for a response received at <paramref name="receivedAt"/>; null means never stale.</summary>
    public DateTimeOffset? ExpiresAt(DateTimeOffset receivedAt) => Kind switch
    {
        ExpirationKind.NeverExpire => null,
        ExpirationKind.ExpireImmediately or ExpirationKind.DoNotCache => receivedAt,
        // Clamped: the longest accepted lifetime must not overflow the calendar.
        ExpirationKind.After => Duration >= DateTimeOffset.MaxValue - receivedAt ? DateTimeOffset.MaxValue : receivedAt + Duration,
        ExpirationKind.EndOfDay => NextLocalMidnight(receivedAt, TimeZone!, 1),
        ExpirationKind.EndOfWeek => NextLocalMidnight(receivedAt, TimeZone!, DaysToNextMonday(receivedAt, TimeZone!)),
        _ => Instant,
    };

    private static int DaysToNextMonday(DateTimeOffset at, TimeZoneInfo zone)
    {
        var day = TimeZoneInfo.ConvertTime(at, zone).DayOfWeek;
        return day == DayOfWeek.Sunday ? 1 : 8 - (int)day;
    }

    /// <summary>The instant local midnight comes, <paramref name="days"/> days after the local date of <paramref name="at"/>.</summary>
    private static DateTimeOffset NextLocalMidnight(DateTimeOffset at, TimeZoneInfo zone, int days)
    {
        var local = TimeZoneInfo.ConvertTime(at, zone).Date.AddDays(days);
        // Where clocks jump forward over midnight, the day starts at the first local time that exists.
        while (zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(15);
        }

        return new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(DateTime.SpecifyKind(local, DateTimeKind.Unspecified), zone), TimeSpan.Zero);
    }

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        ExpirationKind.After => Duration.ToString("c", CultureInfo.InvariantCulture),
        ExpirationKind.At => Instant.ToString("o", CultureInfo.InvariantCulture),
        ExpirationKind.EndOfDay or ExpirationKind.EndOfWeek => $"{Kind} ({TimeZone!.Id})",
        _ => Kind.ToString(),
    };

    /// <summary>The forms <see cref="Parse"/> accepts, for error messages.</summary>
    public const string AcceptedForms =
        "seconds (300; 0 = ExpireImmediately, -1 = NeverExpire), a TimeSpan or '00:05:00', an ISO 8601 duration ('PT5M'), a DateTime, 'NeverExpire', 'ExpireImmediately' or 'DoNotCache'";

    /// <summary>Reads a lifetime from any of the accepted forms; throws <see cref="FormatException"/> naming them otherwise.</summary>
    public static Expiration Parse(object? value)
    {
        if (TryParse(value, out var expiration, out var error))
        {
            return expiration;
        }

        throw new FormatException(error);
    }

    /// <summary>Reads a lifetime; on failure <paramref name="error"/> says what was wrong and what is accepted.</summary>
    public static bool TryParse(object? value, out Expiration expiration, out string error)
    {
        expiration = default;
        error = string.Empty;
        switch (value)
        {
            case Expiration e:
                expiration = e;
                return true;
            case TimeSpan span:
                return FromDuration(span, out expiration, out error);
            case DateTimeOffset instant:
                expiration = At(instant);
                return true;
            case DateTime dateTime:
                expiration = At(dateTime.Kind == DateTimeKind.Unspecified
                    ? new DateTimeOffset(DateTime.SpecifyKind(dateTime, DateTimeKind.Local))
                    : new DateTimeOffset(dateTime));
                return true;
            case int or long or short or byte or sbyte or uint or ulong or ushort:
                return FromSeconds(Convert.ToDouble(value, CultureInfo.InvariantCulture), out expiration, out error);
            case double or float or decimal:
                return FromSeconds(Convert.ToDouble(value, CultureInfo.InvariantCulture), out expiration, out error);
            case string text:
                return FromText(text.Trim(), out expiration, out error);
            case null:
                error = $"No expiration was given. Use {AcceptedForms}.";
                return false;
            default:
                error = $"'{value}' ({value.GetType().Name}) is not an expiration. Use {AcceptedForms}.";
                return false;
        }
    }

    private static bool FromText(string text, out Expiration expiration, out string error)
    {
        expiration = default;
        error = string.Empty;
        foreach (var special in new[] { NeverExpire, ExpireImmediately, DoNotCache })
        {
            if (string.Equals(text, special.Kind.ToString(), StringComparison.OrdinalIgnoreCase))
            {
                expiration = special;
                return true;
            }
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            return FromSeconds(seconds, out expiration, out error);
        }

        if (TimeSpan.TryParseExact(text, "c", CultureInfo.InvariantCulture, out var span)
            || TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out span))
        {
            return FromDuration(span, out expiration, out error);
        }

        if (text.StartsWith('P') || text.StartsWith('p'))
        {
            try
            {
                return FromDuration(XmlConvert.ToTimeSpan(text.ToUpperInvariant()), out expiration, out error);
            }
            catch (FormatException)
            {
                // falls through to the common message
            }
        }

        error = $"'{text}' is not an expiration. Use {AcceptedForms}.";
        return false;
    }

    private static bool FromSeconds(double seconds, out Expiration expiration, out string error)
    {
        expiration = default;
        error = string.Empty;
        if (double.IsNaN(seconds) || double.IsInfinity(seconds) || seconds > TimeSpan.MaxValue.TotalSeconds)
        {
            error = $"{seconds} seconds is not a usable expiration. Use {AcceptedForms}.";
            return false;
        }

        // requests-cache's special numbers: -1 never expires, 0 expires immediately.
        if (seconds == -1)
        {
            expiration = NeverExpire;
            return true;
        }

        if (seconds < 0)
        {
            error = $"{seconds} seconds is negative; only -1 (NeverExpire) is allowed. Use {AcceptedForms}.";
            return false;
        }

        expiration = After(TimeSpan.FromSeconds(seconds));
        return true;
    }

    private static bool FromDuration(TimeSpan span, out Expiration expiration, out string error)
    {
        expiration = default;
        error = string.Empty;
        if (span < TimeSpan.Zero)
        {
            error = $"'{span}' is negative. Use {AcceptedForms}.";
            return false;
        }

        expiration = After(span);
        return true;
    }
}

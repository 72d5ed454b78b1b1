using System.Collections;
using System.Management.Automation;
using System.Text.RegularExpressions;
using HttpCache.Engine.Policy;

namespace HttpCache.Commands;

/// <summary>
/// A New-HttpCacheSession option that cannot be used, with the ErrorId and target its ErrorRecord carries.
/// Thrown by <see cref="SessionOptionParser"/>; the cmdlet turns it into a terminating error before anything is created.
/// </summary>
internal sealed class SessionOptionException : Exception
{
    public SessionOptionException(string errorId, string message, object? target, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Target = target;
    }

    public string ErrorId { get; }

    public object? Target { get; }

    public ErrorRecord ToErrorRecord() => new(new ArgumentException(Message, InnerException), ErrorId, ErrorCategory.InvalidArgument, Target);
}

/// <summary>
/// Reads New-HttpCacheSession's structured options (URL patterns, per-status lifetimes, calendar expiry,
/// stale windows, match headers, time zones) into the engine's types. Every lifetime goes through
/// <see cref="Expiration.TryParse"/>, so each accepts exactly what <c>-ExpireAfter</c> accepts, plus the
/// calendar names <c>EndOfDay</c> and <c>EndOfWeek</c> in the session's time zone.
/// </summary>
internal static class SessionOptionParser
{
    /// <summary>The prefix that makes a string key of -UrlExpireAfter a regex rather than a glob.</summary>
    public const string RegexPrefix = "regex:";

    /// <summary>The calendar names a lifetime may also be given as.</summary>
    public const string CalendarForms = "'EndOfDay' or 'EndOfWeek' (in -TimeZone)";

    /// <summary>Unwraps a PSObject to what it carries.</summary>
    public static object? Unwrap(object? value) => value is PSObject wrapped ? wrapped.BaseObject : value;

    /// <summary>
    /// A lifetime in any -ExpireAfter form, or 'EndOfDay' / 'EndOfWeek' in <paramref name="timeZone"/>. False
    /// with the reason in <paramref name="error"/> otherwise.
    /// </summary>
    public static bool TryParseExpiration(object? value, TimeZoneInfo timeZone, out Expiration expiration, out string error)
    {
        value = Unwrap(value);
        if (value is string text)
        {
            var name = text.Trim();
            if (string.Equals(name, nameof(ExpirationKind.EndOfDay), StringComparison.OrdinalIgnoreCase))
            {
                expiration = Expiration.EndOfDay(timeZone);
                error = string.Empty;
                return true;
            }

            if (string.Equals(name, nameof(ExpirationKind.EndOfWeek), StringComparison.OrdinalIgnoreCase))
            {
                expiration = Expiration.EndOfWeek(timeZone);
                error = string.Empty;
                return true;
            }
        }

        if (Expiration.TryParse(value, out expiration, out error))
        {
            return true;
        }

        error = error.TrimEnd('.') + ", or " + CalendarForms + ".";
        return false;
    }

    /// <summary>The time zone a -TimeZone id names: IANA ('Europe/Paris') or Windows ('Romance Standard Time'); null: local.</summary>
    public static TimeZoneInfo ParseTimeZone(string? id)
    {
        if (id is null)
        {
            return TimeZoneInfo.Local;
        }

        try
        {
            // .NET converts between IANA and Windows ids where the platform's ICU data allows.
            return TimeZoneInfo.FindSystemTimeZoneById(id.Trim());
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
        {
            throw new SessionOptionException(
                ErrorIds.InvalidTimeZone,
                $"'{id}' is not a time zone this system knows. Give an IANA id such as 'Europe/Paris' or 'America/New_York', or a Windows id such as 'W. Europe Standard Time' (tab completion lists them).",
                id,
                ex);
        }
    }

    /// <summary>
    /// -UrlExpireAfter: pattern → lifetime, in the dictionary's order. A key is a glob string, a
    /// <see cref="Regex"/>, or a string 'regex:&lt;pattern&gt;'.
    /// </summary>
    public static List<UrlExpiration> ParseUrlExpireAfter(IDictionary rules, TimeZoneInfo timeZone)
    {
        var result = new List<UrlExpiration>(rules.Count);
        foreach (DictionaryEntry rule in rules)
        {
            var key = Unwrap(rule.Key);
            var pattern = ParsePattern(key);
            if (!TryParseExpiration(rule.Value, timeZone, out var expiration, out var error))
            {
                throw new SessionOptionException(ErrorIds.InvalidExpiration, $"-UrlExpireAfter: the lifetime for '{key}' is not usable: {error}", rule.Value);
            }

            result.Add(new UrlExpiration(pattern, expiration));
        }

        return result;
    }

    private static UrlPattern ParsePattern(object? key)
    {
        try
        {
            switch (key)
            {
                case Regex regex:
                    return UrlPattern.FromRegex(regex);
                case string text when text.StartsWith(RegexPrefix, StringComparison.OrdinalIgnoreCase):
                    return UrlPattern.FromRegex(text[RegexPrefix.Length..]);
                case string text when !string.IsNullOrWhiteSpace(text):
                    return UrlPattern.Glob(text);
            }
        }
        catch (ArgumentException ex)
        {
            throw new SessionOptionException(ErrorIds.InvalidUrlPattern, $"-UrlExpireAfter: '{key}' is not a usable pattern: {ex.Message}", key, ex);
        }

        throw new SessionOptionException(
            ErrorIds.InvalidUrlPattern,
            $"-UrlExpireAfter: '{key}' ({key?.GetType().Name ?? "null"}) is not a pattern. Keys are glob strings ('api.example.com/v1/', '*.example.com'), [regex] objects, or strings 'regex:<pattern>'.",
            key);
    }

    /// <summary>-StatusExpireAfter: status code → lifetime.</summary>
    public static Dictionary<int, Expiration> ParseStatusExpireAfter(IDictionary rules, TimeZoneInfo timeZone)
    {
        var result = new Dictionary<int, Expiration>();
        foreach (DictionaryEntry rule in rules)
        {
            var key = Unwrap(rule.Key);
            int status;
            try
            {
                status = LanguagePrimitives.ConvertTo<int>(key);
            }
            catch (PSInvalidCastException)
            {
                status = 0;
            }

            if (status is < 100 or > 599)
            {
                throw new SessionOptionException(ErrorIds.InvalidSessionOption, $"-StatusExpireAfter: '{key}' is not an HTTP status code (100-599).", key);
            }

            if (!TryParseExpiration(rule.Value, timeZone, out var expiration, out var error))
            {
                throw new SessionOptionException(ErrorIds.InvalidExpiration, $"-StatusExpireAfter: the lifetime for {status} is not usable: {error}", rule.Value);
            }

            result[status] = expiration;
        }

        return result;
    }

    /// <summary>
    /// -StaleIfError / -StaleWhileRevalidate: $true (any staleness, <see cref="TimeSpan.MaxValue"/>), $false
    /// (null: only when the answer allows), or how long past expiry a stored answer may still be used.
    /// </summary>
    public static TimeSpan? ParseStaleWindow(string parameter, object? value)
    {
        value = Unwrap(value);
        switch (value)
        {
            case null:
                return null;
            case bool flag:
                return flag ? TimeSpan.MaxValue : null;
            case SwitchParameter flag:
                return flag.IsPresent ? TimeSpan.MaxValue : null;
        }

        if (value is not DateTime and not DateTimeOffset && Expiration.TryParse(value, out var expiration, out _))
        {
            switch (expiration.Kind)
            {
                case ExpirationKind.After:
                    return expiration.Duration;
                case ExpirationKind.ExpireImmediately:
                    return TimeSpan.Zero;
                case ExpirationKind.NeverExpire:
                    return TimeSpan.MaxValue;
            }
        }

        throw new SessionOptionException(
            ErrorIds.InvalidSessionOption,
            $"-{parameter}: '{value}' is neither $true, $false nor a duration. Give $true (any staleness), a number of seconds, a TimeSpan, '00:05:00' or 'PT5M'.",
            value);
    }

    /// <summary>-MatchHeaders: $true (every request header), $false (none) or header names.</summary>
    public static (bool All, IReadOnlyList<string>? Names) ParseMatchHeaders(object? value)
    {
        value = Unwrap(value);
        switch (value)
        {
            case null:
                return (false, null);
            case bool flag:
                return (flag, null);
            case SwitchParameter flag:
                return (flag.IsPresent, null);
            case string name:
                return (false, [CheckHeaderName(name)]);
            case IEnumerable items:
                var names = new List<string>();
                foreach (var item in items)
                {
                    names.Add(Unwrap(item) is string text ? CheckHeaderName(text) : throw BadMatchHeaders(item));
                }

                return names.Count == 0 ? throw BadMatchHeaders(value) : (false, names.Distinct(StringComparer.OrdinalIgnoreCase).ToArray());
            default:
                throw BadMatchHeaders(value);
        }
    }

    private static string CheckHeaderName(string name)
    {
        var trimmed = name.Trim();
        if (trimmed.Length == 0 || trimmed.Any(c => c <= ' ' || c >= 127 || "()<>@,;:\\\"/[]?={}".Contains(c, StringComparison.Ordinal)))
        {
            throw new SessionOptionException(ErrorIds.InvalidSessionOption, $"-MatchHeaders: '{name}' is not a header name.", name);
        }

        return trimmed;
    }

    private static SessionOptionException BadMatchHeaders(object? value) => new(
        ErrorIds.InvalidSessionOption,
        $"-MatchHeaders: '{value}' is neither $true, $false nor header names. Give $true (every request header) or names such as 'Accept-Language', 'X-Tenant'.",
        value);

    /// <summary>-IgnoredParameters, -ExcludeFromKey: the names, matched case-insensitively.</summary>
    public static HashSet<string> ParseNames(string parameter, string[] names)
    {
        var set = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in names)
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                throw new SessionOptionException(ErrorIds.InvalidSessionOption, $"-{parameter} has an empty name.", names);
            }

            set.Add(name.Trim());
        }

        return set;
    }
}

using System.Globalization;
using System.Net.Http.Headers;

namespace HttpCache.Engine.Policy;

/// <summary>
/// The fields caching depends on, read from their raw lines as RFC 9110 / 9111 define them. The typed
/// headers of System.Net.Http are not used for these: they accept what the RFCs call invalid (an
/// Expires in <c>UTC</c>, a one-digit hour), refuse what recipients must accept (RFC 850 and asctime
/// dates, a list-valued Age), and parsing through them rewrites the header the caller and the store
/// then see. Reading here never changes a header.
/// </summary>
public static class HttpFields
{
    /// <summary>The Age §1.2.2 says to use for a value too large to represent: 2^31 seconds.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(2147483648);

    private static readonly string[] DayNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    private static readonly string[] LongDayNames = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    private static readonly string[] Months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    /// <summary>A field's raw lines, from the message or its content headers; null when absent.</summary>
    public static IReadOnlyList<string>? Lines(HttpHeaders headers, HttpContent? content, string name)
    {
        if (headers.NonValidated.TryGetValues(name, out var values) || (content is not null && content.Headers.NonValidated.TryGetValues(name, out values)))
        {
            var lines = new List<string>(values.Count);
            foreach (var value in values)
            {
                lines.Add(value);
            }

            return lines;
        }

        return null;
    }

    /// <summary>A response field's raw lines; null when absent.</summary>
    public static IReadOnlyList<string>? Lines(HttpResponseMessage response, string name) => Lines(response.Headers, response.Content, name);

    /// <summary>A request field's raw lines; null when absent.</summary>
    public static IReadOnlyList<string>? Lines(HttpRequestMessage request, string name) => Lines(request.Headers, request.Content, name);

    /// <summary>
    /// Age (RFC 9111 §5.1): the first member of the first line, digits only; a value too large to represent
    /// is 2^31 seconds (§1.2.2). Null when absent or invalid (a suffix, a parameter, a sign), which §5.1
    /// says to ignore.
    /// </summary>
    public static TimeSpan? Age(IReadOnlyList<string>? lines)
    {
        if (lines is null || lines.Count == 0)
        {
            return null;
        }

        var first = lines[0];
        var comma = first.IndexOf(',', StringComparison.Ordinal);
        var member = (comma < 0 ? first : first[..comma]).Trim(' ', '\t');
        if (member.Length == 0 || !member.All(char.IsAsciiDigit))
        {
            return null;
        }

        return long.TryParse(member, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds < 2147483648
            ? TimeSpan.FromSeconds(seconds)
            : MaxAge;
    }

    /// <summary>The response's Age, as <see cref="Age(IReadOnlyList{string})"/> reads it.</summary>
    public static TimeSpan? Age(HttpResponseMessage response) => Age(Lines(response, "Age"));

    /// <summary>
    /// A single-line HTTP-date field (Date, Last-Modified, Expires): null when absent, when it has more
    /// than one line, or when its value is not an HTTP-date (<see cref="TryParseDate"/>).
    /// </summary>
    public static DateTimeOffset? Date(IReadOnlyList<string>? lines, DateTimeOffset reference) =>
        lines is { Count: 1 } && TryParseDate(lines[0], reference, out var date) ? date : null;

    /// <summary>
    /// An HTTP-date (RFC 9110 §5.6.7): IMF-fixdate exactly (<c>Sun, 06 Nov 1994 08:49:37 GMT</c>), or
    /// the obsolete forms recipients MUST accept, RFC 850 (<c>Sunday, 06-Nov-94 08:49:37 GMT</c>) and
    /// asctime (<c>Sun Nov  6 08:49:37 1994</c>). Names are case-sensitive, spaces single, fields of
    /// fixed width. An RFC 850 year that would be more than 50 years after <paramref name="reference"/>
    /// is the most recent past year with those two digits.
    /// </summary>
    public static bool TryParseDate(string? value, DateTimeOffset reference, out DateTimeOffset date)
    {
        date = default;
        if (value is null)
        {
            return false;
        }

        var s = value.Trim(' ', '\t');
        int day, month, year, hour, minute, second;
        if (s.Length == 29 && s[3] == ',')
        {
            // IMF-fixdate: day-name "," SP 2DIGIT SP month SP 4DIGIT SP time-of-day SP "GMT"
            if (Array.IndexOf(DayNames, s[..3]) < 0 || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s[25..] != " GMT"
                || !Digits(s, 5, 2, out day) || (month = Month(s, 8)) == 0 || !Digits(s, 12, 4, out year) || !Time(s, 17, out hour, out minute, out second))
            {
                return false;
            }
        }
        else if (s.IndexOf(',', StringComparison.Ordinal) is var comma and > 0 && Array.IndexOf(LongDayNames, s[..comma]) >= 0)
        {
            // rfc850-date: day-name-l "," SP 2DIGIT "-" month "-" 2DIGIT SP time-of-day SP "GMT"
            var rest = s[(comma + 1)..];
            if (rest.Length != 23 || rest[0] != ' ' || rest[3] != '-' || rest[7] != '-' || rest[10] != ' ' || rest[19..] != " GMT"
                || !Digits(rest, 1, 2, out day) || (month = Month(rest, 4)) == 0 || !Digits(rest, 8, 2, out var twoDigitYear) || !Time(rest, 11, out hour, out minute, out second))
            {
                return false;
            }

            var referenceYear = reference.UtcDateTime.Year;
            year = (referenceYear - (referenceYear % 100)) + twoDigitYear;
            if (year > referenceYear + 50)
            {
                year -= 100;
            }
        }
        else if (s.Length == 24)
        {
            // asctime-date: day-name SP month SP ( 2DIGIT / ( SP DIGIT ) ) SP time-of-day SP 4DIGIT
            if (Array.IndexOf(DayNames, s[..3]) < 0 || s[3] != ' ' || (month = Month(s, 4)) == 0 || s[7] != ' ' || s[10] != ' ' || s[19] != ' '
                || !(s[8] == ' ' ? Digits(s, 9, 1, out day) : Digits(s, 8, 2, out day)) || !Time(s, 11, out hour, out minute, out second) || !Digits(s, 20, 4, out year))
            {
                return false;
            }
        }
        else
        {
            return false;
        }

        if (year < 1 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 60)
        {
            return false;
        }

        // second 60 is a leap second (RFC 5322 §3.3): the instant after :59.
        date = new DateTimeOffset(year, month, day, hour, minute, 0, TimeSpan.Zero).AddSeconds(second);
        return true;
    }

    private static bool Time(string s, int at, out int hour, out int minute, out int second)
    {
        minute = second = 0;
        return Digits(s, at, 2, out hour) && s[at + 2] == ':' && Digits(s, at + 3, 2, out minute) && s[at + 5] == ':' && Digits(s, at + 6, 2, out second);
    }

    private static int Month(string s, int at) => Array.IndexOf(Months, s.Substring(at, 3)) + 1;

    private static bool Digits(string s, int at, int count, out int value)
    {
        value = 0;
        for (var i = at; i < at + count; i++)
        {
            if (!char.IsAsciiDigit(s[i]))
            {
                return false;
            }

            value = (value * 10) + (s[i] - '0');
        }

        return true;
    }
}

using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace HttpCache.Commands;

/// <summary>Tab completion from a fixed list, matching what was typed as a prefix, case-insensitively.</summary>
internal abstract class FixedListCompleter : IArgumentCompleter
{
    private readonly (string Value, string Tooltip)[] values;

    protected FixedListCompleter(params (string Value, string Tooltip)[] values) => this.values = values;

    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var typed = (wordToComplete ?? string.Empty).Trim('\'', '"');
        foreach (var (value, tooltip) in values)
        {
            if (value.StartsWith(typed, StringComparison.OrdinalIgnoreCase))
            {
                var text = value.IndexOfAny([' ', ':', '.']) >= 0 ? $"'{value}'" : value;
                yield return new CompletionResult(text, value, CompletionResultType.ParameterValue, tooltip);
            }
        }
    }
}

/// <summary>Completes -ExpireAfter with the special names and a few common durations.</summary>
internal sealed class ExpirationCompleter : FixedListCompleter
{
    public ExpirationCompleter()
        : base(
            ("NeverExpire", "Stored and never stale."),
            ("ExpireImmediately", "Stored, but revalidated before every use."),
            ("DoNotCache", "Not stored at all."),
            ("00:05:00", "Five minutes."),
            ("01:00:00", "One hour."),
            ("1.00:00:00", "One day."))
    {
    }
}

/// <summary>Completes -Method with the standard HTTP methods.</summary>
internal sealed class HttpMethodCompleter : FixedListCompleter
{
    public HttpMethodCompleter()
        : base(
            ("GET", "GET"),
            ("HEAD", "HEAD"),
            ("POST", "POST"),
            ("PUT", "PUT"),
            ("PATCH", "PATCH"),
            ("DELETE", "DELETE"),
            ("OPTIONS", "OPTIONS"),
            ("TRACE", "TRACE"))
    {
    }
}

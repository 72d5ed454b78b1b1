using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace HttpCache.Commands;

/// <summary>
/// Completes -TimeZone with the ids this system knows (IANA ids on Linux and macOS, Windows ids on Windows;
/// either kind is accepted everywhere ICU can convert it): those starting with what was typed first, then
/// those containing it ('Paris' finds 'Europe/Paris').
/// </summary>
internal sealed class TimeZoneCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var typed = (wordToComplete ?? string.Empty).Trim('\'', '"');
        var zones = TimeZoneInfo.GetSystemTimeZones();
        var starting = zones.Where(z => z.Id.StartsWith(typed, StringComparison.OrdinalIgnoreCase));
        var containing = typed.Length == 0
            ? []
            : zones.Where(z => !z.Id.StartsWith(typed, StringComparison.OrdinalIgnoreCase) && z.Id.Contains(typed, StringComparison.OrdinalIgnoreCase));
        foreach (var zone in starting.OrderBy(z => z.Id, StringComparer.OrdinalIgnoreCase).Concat(containing.OrderBy(z => z.Id, StringComparer.OrdinalIgnoreCase)))
        {
            var text = zone.Id.Any(c => !(char.IsLetterOrDigit(c) || c is '/' or '_' or '-' or '+')) ? $"'{zone.Id.Replace("'", "''", StringComparison.Ordinal)}'" : zone.Id;
            yield return new CompletionResult(text, zone.Id, CompletionResultType.ParameterValue, zone.DisplayName);
        }
    }
}

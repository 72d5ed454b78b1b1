using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace HttpCache.Commands;

/// <summary>
/// <para type="synopsis">Lists the cache sessions open in this process, or tells whether plain Invoke-WebRequest and Invoke-RestMethod go through the cache here, and with which session.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "HttpCacheSession", DefaultParameterSetName = ListSet)]
[OutputType(typeof(CacheSession), ParameterSetName = new[] { ListSet })]
[OutputType(typeof(DropIn), ParameterSetName = new[] { DropInSet })]
public sealed class GetHttpCacheSessionCommand : PSCmdlet
{
    private const string ListSet = "List";
    private const string DropInSet = "DropIn";

    /// <summary>Only the sessions with these names (wildcards allowed).</summary>
    [Parameter(Position = 0, ParameterSetName = ListSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(OpenSessionNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Outputs the drop-in caching a plain Invoke-WebRequest call reaches from here (HttpCache.DropIn; Enabled is False when none).</summary>
    [Parameter(Mandatory = true, ParameterSetName = DropInSet)]
    public SwitchParameter DropIn { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (DropIn)
        {
            WriteObject(DropInFunctions.Visible(this) ?? HttpCache.DropIn.Off);
            return;
        }

        var open = SessionLifetime.Open();
        if (Name is null)
        {
            WriteObject(open, enumerateCollection: true);
            return;
        }

        var patterns = Name.Select(n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase)).ToArray();
        WriteObject(open.Where(s => patterns.Any(p => p.IsMatch(s.Name))).ToArray(), enumerateCollection: true);
        foreach (var literal in Name.Where(n => !WildcardPattern.ContainsWildcardCharacters(n)))
        {
            if (!open.Any(s => s.Name.Equals(literal, StringComparison.OrdinalIgnoreCase)))
            {
                WriteError(new ErrorRecord(
                    new ItemNotFoundException($"No open cache session is named '{literal}'. Get-HttpCacheSession lists the open ones; the default session appears once a command has used it."),
                    ErrorIds.SessionNotFound,
                    ErrorCategory.ObjectNotFound,
                    literal));
            }
        }
    }
}

/// <summary>Completes Get-HttpCacheSession -Name with the names of the open sessions (never with file names).</summary>
internal sealed class OpenSessionNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var typed = (wordToComplete ?? string.Empty).Trim('\'', '"');
        return SessionLifetime.Open()
            .Select(s => s.Name)
            .Where(n => n.StartsWith(typed, StringComparison.OrdinalIgnoreCase))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Order(StringComparer.OrdinalIgnoreCase)
            .Select(n => new CompletionResult(n.Contains(' ', StringComparison.Ordinal) ? $"'{n}'" : n, n, CompletionResultType.ParameterValue, $"The open cache session '{n}'."))
            .ToList();
    }
}

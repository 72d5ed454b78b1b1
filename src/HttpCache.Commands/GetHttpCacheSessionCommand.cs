using System.Management.Automation;

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
    [ArgumentCompleter(typeof(NoCompletion))]
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

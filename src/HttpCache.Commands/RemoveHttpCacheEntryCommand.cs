using System.Globalization;
using System.Management.Automation;
using HttpCache.Engine.Storage;

namespace HttpCache.Commands;

/// <summary>
/// <para type="synopsis">Removes stored responses: piped entries, those a filter selects, or all of a session's.</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "HttpCacheEntry", DefaultParameterSetName = InputObjectSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
public sealed class RemoveHttpCacheEntryCommand : PSCmdlet, IDisposable
{
    private const string InputObjectSet = "InputObject";
    private const string FilterSet = "Filter";
    private const string AllSet = "All";
    private const string RemoveAction = "Remove cache entry";

    private readonly EngineCall engine = new();

    /// <summary>Entries to remove, usually piped from Get-HttpCacheEntry; each knows its session.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = InputObjectSet)]
    [ValidateNotNull]
    public CacheEntry[]? InputObject { get; set; }

    /// <summary>The session (default: the shared default session); piped entries use their own.</summary>
    [Parameter(ParameterSetName = FilterSet)]
    [Parameter(ParameterSetName = AllSet)]
    public CacheSession? Session { get; set; }

    /// <summary>Every entry (every variant) whose URL matches this wildcard pattern, case-insensitively.</summary>
    [Parameter(ParameterSetName = FilterSet)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string? Uri { get; set; }

    /// <summary>The entry with this key.</summary>
    [Parameter(ParameterSetName = FilterSet)]
    [ValidateNotNullOrEmpty]
    public string? Key { get; set; }

    /// <summary>Entries past their expiration.</summary>
    [Parameter(ParameterSetName = FilterSet)]
    public SwitchParameter Expired { get; set; }

    /// <summary>Entries stored longer ago than this: a TimeSpan, '1.00:00:00', or seconds.</summary>
    [Parameter(ParameterSetName = FilterSet)]
    [DurationTransformation]
    public TimeSpan? OlderThan { get; set; }

    /// <summary>Every entry of the session.</summary>
    [Parameter(Mandatory = true, ParameterSetName = AllSet)]
    public SwitchParameter All { get; set; }

    /// <summary>With -All, removes without asking.</summary>
    [Parameter(ParameterSetName = AllSet)]
    public SwitchParameter Force { get; set; }

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        if (ParameterSetName == FilterSet && new EntryFilter(Uri, Key, Expired, OlderThan).IsEmpty)
        {
            ThrowTerminatingError(new ErrorRecord(
                new ArgumentException("Say which entries to remove: -Uri, -Key, -Expired or -OlderThan; -All removes every entry."),
                ErrorIds.FilterRequired,
                ErrorCategory.InvalidArgument,
                null));
        }
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        switch (ParameterSetName)
        {
            case InputObjectSet:
                foreach (var entry in InputObject ?? [])
                {
                    RemoveOne(entry, reportMissing: true);
                }

                break;
            case FilterSet:
                RemoveMatching(Sessions.Resolve(this, Session));
                break;
            case AllSet:
                RemoveAll(Sessions.Resolve(this, Session));
                break;
        }
    }

    /// <inheritdoc />
    protected override void StopProcessing() => engine.Stop();

    /// <inheritdoc />
    public void Dispose() => engine.Dispose();

    private void RemoveMatching(CacheSession session)
    {
        var filter = new EntryFilter(Uri, Key, Expired, OlderThan);
        List<CacheEntry> matches;
        try
        {
            // Listed first, removed after: a store's listing need not survive deletions under it.
            matches = filter.Select(session, engine).ToList();
        }
        catch (Exception ex) when (Errors.FromEngine(ex, session) is { } record)
        {
            ThrowTerminatingError(record);
            return;
        }

        if (matches.Count == 0 && filter.IsLiteral)
        {
            WriteError(Errors.EntryNotFound(filter.Describe(), (object?)Key ?? Uri!));
            return;
        }

        foreach (var entry in matches)
        {
            // An entry is one Vary variant; -Uri matches every variant of a URL, each removed by its key.
            RemoveOne(entry, reportMissing: false);
        }
    }

    private void RemoveOne(CacheEntry entry, bool reportMissing)
    {
        if (!ShouldProcess($"{entry.Method} {entry.Uri} (key {entry.Key}, session '{entry.Session.Name}')", RemoveAction))
        {
            return;
        }

        if (entry.Session.IsDisposed)
        {
            WriteError(Errors.SessionDisposed(entry.Session));
            return;
        }

        int removed;
        try
        {
            removed = engine.Run(token => entry.Session.Engine.RemoveEntriesAsync(new CacheQuery { Key = entry.Key }, token));
        }
        catch (Exception ex) when (Errors.FromEngine(ex, entry.Session) is { } record)
        {
            // One entry failed: the others may still go.
            WriteError(record);
            return;
        }

        if (removed == 0 && reportMissing)
        {
            WriteError(Errors.EntryNotFound($"the key '{entry.Key}' ({entry.Uri}) in session '{entry.Session.Name}'; it was already removed", entry));
        }
        else
        {
            WriteVerbose($"Removed {entry.Method} {entry.Uri} (key {entry.Key}).");
        }
    }

    private void RemoveAll(CacheSession session)
    {
        var target = $"all entries of session '{session.Name}' ({session.Location})";
        if (!ShouldProcess(target, "Remove all cache entries"))
        {
            return;
        }

        // -Confirm (or a low $ConfirmPreference) already asked through ShouldProcess; -Confirm:$false and
        // -Force mean do not ask at all.
        var yesToAll = false;
        var noToAll = false;
        if (!Force && !MyInvocation.BoundParameters.ContainsKey("Confirm")
            && !ShouldContinue($"Remove every entry of the cache session '{session.Name}' ({session.Location})?", "Remove all cache entries", ref yesToAll, ref noToAll))
        {
            return;
        }

        int removed;
        try
        {
            removed = engine.Run(token => session.Engine.RemoveEntriesAsync(CacheQuery.All, token));
        }
        catch (Exception ex) when (Errors.FromEngine(ex, session) is { } record)
        {
            ThrowTerminatingError(record);
            return;
        }

        WriteVerbose(string.Format(CultureInfo.InvariantCulture, "Removed {0} entries from session '{1}'.", removed, session.Name));
    }
}

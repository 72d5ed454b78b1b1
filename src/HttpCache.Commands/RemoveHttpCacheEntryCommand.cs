using System.Globalization;
using System.Management.Automation;
using System.Text.RegularExpressions;
using HttpCache.Engine.Storage;

namespace HttpCache.Commands;

/// <summary>
/// <para type="synopsis">Removes stored responses: piped entries, URLs or keys, those a filter selects, or all of a session's.</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "HttpCacheEntry", DefaultParameterSetName = InputObjectSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(CacheEntry))]
public sealed partial class RemoveHttpCacheEntryCommand : PSCmdlet, IDisposable
{
    private const string InputObjectSet = "InputObject";
    private const string FilterSet = "Filter";
    private const string AllSet = "All";
    private const string RemoveAction = "Remove cache entry";
    private const int ProgressActivityId = 0x4855;

    private readonly EngineCall engine = new();
    private BulkProgress? pipedProgress;

    /// <summary>Entries to remove, usually piped from Get-HttpCacheEntry; each knows its session.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = InputObjectSet)]
    [ValidateNotNull]
    [ArgumentCompleter(typeof(NoCompletion))]
    public CacheEntry[]? InputObject { get; set; }

    /// <summary>The session (default: the shared default session); piped entries use their own.</summary>
    [Parameter(ParameterSetName = FilterSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = AllSet)]
    [ArgumentCompleter(typeof(SessionVariableCompleter))]
    public CacheSession? Session { get; set; }

    /// <summary>
    /// Every entry (every variant) whose URL matches one of these wildcard patterns, case-insensitively. Piped
    /// strings bind here; one that is a cache key (hexadecimal, as an entry's Key) is removed as a key.
    /// </summary>
    [Parameter(Position = 0, ParameterSetName = FilterSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(CachedUriCompleter))]
    public string[]? Uri { get; set; }

    /// <summary>The entries with these keys. Binds from a Key or CacheKey property (entries, answers); wins over -Uri.</summary>
    [Parameter(ParameterSetName = FilterSet, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("CacheKey")]
    [ArgumentCompleter(typeof(CachedKeyCompleter))]
    public string[]? Key { get; set; }

    /// <summary>Entries past their expiration.</summary>
    [Parameter(ParameterSetName = FilterSet)]
    public SwitchParameter Expired { get; set; }

    /// <summary>Entries stored longer ago than this: a TimeSpan, '1.00:00:00', or seconds.</summary>
    [Parameter(ParameterSetName = FilterSet)]
    [DurationTransformation]
    [ArgumentCompleter(typeof(DurationCompleter))]
    public TimeSpan? OlderThan { get; set; }

    /// <summary>Every entry of the session.</summary>
    [Parameter(Mandatory = true, ParameterSetName = AllSet)]
    public SwitchParameter All { get; set; }

    /// <summary>With -All, removes without asking.</summary>
    [Parameter(ParameterSetName = AllSet)]
    public SwitchParameter Force { get; set; }

    /// <summary>Outputs each removed entry (as it was before the removal).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        switch (ParameterSetName)
        {
            case InputObjectSet:
                pipedProgress ??= new BulkProgress(this, ProgressActivityId, "Removing cache entries", total: null);
                foreach (var entry in InputObject ?? [])
                {
                    RemoveOne(entry, reportMissing: true);
                    pipedProgress.Step(entry.Uri);
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
    protected override void EndProcessing() => pipedProgress?.Complete();

    /// <inheritdoc />
    protected override void StopProcessing() => engine.Stop();

    /// <inheritdoc />
    public void Dispose() => engine.Dispose();

    /// <summary>The filters this pipeline item asks for: by key (keys win over URLs), else by URL pattern, else by clock.</summary>
    private List<EntryFilter> Filters()
    {
        var keys = new List<string>(Key ?? []);
        var patterns = new List<string>();
        foreach (var value in Uri ?? [])
        {
            (CacheKeyShape().IsMatch(value) ? keys : patterns).Add(value);
        }

        if (keys.Count > 0)
        {
            // An answer piped by property name brings both its Uri and its CacheKey; the key names the very
            // entry, while the Uri is the URL after redirects, which may not be the one stored.
            return keys.Select(k => new EntryFilter(key: k, expired: Expired, olderThan: OlderThan)).ToList();
        }

        if (patterns.Count > 0)
        {
            return patterns.Select(p => new EntryFilter(uri: p, expired: Expired, olderThan: OlderThan)).ToList();
        }

        var byClock = new EntryFilter(expired: Expired, olderThan: OlderThan);
        return byClock.IsEmpty ? [] : [byClock];
    }

    private void RemoveMatching(CacheSession session)
    {
        var filters = Filters();
        if (filters.Count == 0)
        {
            ThrowTerminatingError(new ErrorRecord(
                new ArgumentException("Say which entries to remove: pipe entries, URLs or keys, or give -Uri, -Key, -Expired or -OlderThan; -All removes every entry."),
                ErrorIds.FilterRequired,
                ErrorCategory.InvalidArgument,
                null));
            return;
        }

        // Listed first, removed after: a store's listing need not survive deletions under it.
        var matches = new List<CacheEntry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var filter in filters)
        {
            var found = false;
            try
            {
                foreach (var entry in filter.Select(session, engine))
                {
                    found = true;
                    if (seen.Add(entry.Key))
                    {
                        matches.Add(entry);
                    }
                }
            }
            catch (Exception ex) when (Errors.FromEngine(ex, session) is { } record)
            {
                ThrowTerminatingError(record);
                return;
            }

            if (!found && filter.IsLiteral)
            {
                WriteError(Errors.EntryNotFound(filter.Describe(), (object?)filter.Key ?? filter.Uri!));
            }
        }

        var progress = new BulkProgress(this, ProgressActivityId, "Removing cache entries", matches.Count);
        foreach (var entry in matches)
        {
            // An entry is one Vary variant; -Uri matches every variant of a URL, each removed by its key.
            RemoveOne(entry, reportMissing: false);
            progress.Step(entry.Uri);
        }

        progress.Complete();
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

        if (removed == 0)
        {
            if (reportMissing)
            {
                WriteError(Errors.EntryNotFound($"the key '{entry.Key}' ({entry.Uri}) in session '{entry.Session.Name}'; it was already removed", entry));
            }

            return;
        }

        WriteVerbose($"Removed {entry.Method} {entry.Uri} (key {entry.Key}).");
        if (PassThru)
        {
            WriteObject(entry);
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
        List<CacheEntry> listed = [];
        try
        {
            if (PassThru)
            {
                listed = new EntryFilter().Select(session, engine).ToList();
            }

            removed = engine.Run(token => session.Engine.RemoveEntriesAsync(CacheQuery.All, token));
        }
        catch (Exception ex) when (Errors.FromEngine(ex, session) is { } record)
        {
            ThrowTerminatingError(record);
            return;
        }

        WriteVerbose(string.Format(CultureInfo.InvariantCulture, "Removed {0} entries from session '{1}'.", removed, session.Name));
        WriteObject(listed, enumerateCollection: true);
    }

    /// <summary>What a cache key looks like: a hexadecimal digest, and a variant's digest after a dot.</summary>
    [GeneratedRegex(@"^[0-9A-Fa-f]{16,}(\.[0-9A-Fa-f]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex CacheKeyShape();
}

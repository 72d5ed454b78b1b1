using System.Collections;
using System.Collections.Concurrent;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using HttpCache.Commands;

namespace HttpCache;

/// <summary>
/// Drop-in caching in one scope: plain Invoke-WebRequest and Invoke-RestMethod (and the aliases that name them,
/// iwr and irm) answered through the cache. Made by Enable-HttpCache and Use-HttpCache, reported by
/// Get-HttpCacheSession -DropIn.
/// </summary>
/// <remarks>
/// The drop-in is a pair of functions named after the built-in cmdlets, defined in the chosen scope: PowerShell
/// looks functions up before cmdlets, and an alias resolves by the name it stands for. Each function forwards
/// to the cached twin, or to the built-in cmdlet when the call uses a parameter the cache cannot honour
/// (<see cref="Route"/>). The functions find their drop-in through <see cref="Route"/> by an id written into
/// their text, so they hold no reference that could outlive Disable-HttpCache.
/// </remarks>
public sealed class DropIn
{
    /// <summary>
    /// Parameters that always send the call to the built-in cmdlet, even when the cached twin takes them, each
    /// with why: what they do is about the transfer, not about an answer a cache could stand in for.
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, string> AlwaysPassThrough = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["InFile"] = "-InFile uploads a file; uploads are not cached (the cached twin would send them past the cache too)",
        ["Form"] = "-Form uploads a multipart form; uploads are not cached (the cached twin would send them past the cache too)",
        ["TransferEncoding"] = "-TransferEncoding shapes an upload; uploads are not cached (the cached twin would send them past the cache too)",
        ["Resume"] = "-Resume continues a partial file on disk with a range request, which a stored whole answer does not stand for",
    };

    /// <summary>The variables the built-in cmdlets set in their caller's scope; the drop-in function passes them up to its own caller.</summary>
    private static readonly string[] VariableParameters = ["SessionVariable", "StatusCodeVariable", "ResponseHeadersVariable"];

    private static readonly ConcurrentDictionary<string, DropIn> Active = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<Runspace, byte> WatchedRunspaces = new();

    private readonly CacheSession? session;
    private readonly DateTime enabledAt;

    internal DropIn(CacheSession? session, string? scope, IReadOnlyList<DropInCommand> commands, Runspace? runspace)
    {
        this.session = session;
        Scope = scope;
        Routes = commands;
        Runspace = runspace;
        Id = Guid.NewGuid().ToString("N");
        enabledAt = DateTime.Now;
    }

    /// <summary>True when plain Invoke-WebRequest and Invoke-RestMethod go through the cache where this was read.</summary>
    public bool Enabled => !IsOff;

    /// <summary>
    /// The session the calls go through. For the default session (Enable-HttpCache without -Session), the
    /// default session once a call has created it, else null: reading this never opens a store.
    /// </summary>
    public CacheSession? Session => IsOff ? null : session ?? SessionProvider.Existing;

    /// <summary>The session's name: 'default' when Enable-HttpCache was given no -Session.</summary>
    public string? SessionName => IsOff ? null : session?.Name ?? SessionProvider.DefaultName;

    /// <summary>Global, Local (a script's or function's own scope, from Enable-HttpCache -Scope Local), or Block (Use-HttpCache).</summary>
    public string? Scope { get; }

    /// <summary>The commands answered through the cache, each with its cached twin: 'Invoke-WebRequest -> Invoke-CachedWebRequest'.</summary>
    public string[] Commands => Routes.Select(r => $"{r.Name} -> {r.Twin.Name}").ToArray();

    /// <summary>The parameters that always send a call to the built-in cmdlet, besides those the cached twin lacks.</summary>
    public string[] PassThroughParameters => AlwaysPassThrough.Keys.Order(StringComparer.OrdinalIgnoreCase).ToArray();

    /// <summary>When drop-in caching was turned on (local time); null when off.</summary>
    public DateTime? EnabledAt => IsOff ? null : enabledAt;

    /// <summary>The id written into the drop-in functions' text.</summary>
    internal string Id { get; }

    internal IReadOnlyList<DropInCommand> Routes { get; }

    internal Runspace? Runspace { get; }

    /// <summary>The explicit session, or null for the default one.</summary>
    internal CacheSession? ExplicitSession => session;

    private bool IsOff => Scope is null;

    /// <summary>What Get-HttpCacheSession -DropIn reports where nothing is on.</summary>
    internal static DropIn Off { get; } = new(null, null, [], null);

    /// <summary>
    /// Where a drop-in function sends one call (called from the function's begin block): a hashtable with the
    /// Command to run, its Parameters, the Reason it passes through (null when cached), and the Variables to
    /// hand up to the caller. Public only because the functions are PowerShell script.
    /// </summary>
    /// <param name="id">The drop-in's id, from the function's text.</param>
    /// <param name="command">The function's name (Invoke-WebRequest or Invoke-RestMethod).</param>
    /// <param name="boundParameters">The function's $PSBoundParameters.</param>
    public static Hashtable Route(string id, string command, IDictionary boundParameters)
    {
        ArgumentNullException.ThrowIfNull(boundParameters);
        var parameters = new Hashtable(StringComparer.OrdinalIgnoreCase);
        foreach (DictionaryEntry entry in boundParameters)
        {
            parameters[entry.Key] = entry.Value;
        }

        var variables = VariableParameters
            .Where(name => parameters[name] is string { Length: > 0 })
            .Select(name => (string)parameters[name]!)
            .ToArray();

        var dropIn = Active.TryGetValue(id, out var found) ? found : null;
        var route = dropIn?.Routes.FirstOrDefault(r => r.Name.Equals(command, StringComparison.OrdinalIgnoreCase));
        if (dropIn is null || route is null)
        {
            // The drop-in was turned off while a caller still held its function (a pipeline already running).
            return Result(null, parameters, $"{command}: drop-in caching was turned off; the built-in {command} answers.", variables);
        }

        var reason = route.PassThroughReason(parameters.Keys.Cast<string>());
        if (reason is not null && route.Original is not null)
        {
            return Result(route.Original, parameters, $"{command} goes to the built-in {route.Original.ModuleName}\\{route.Original.Name}, uncached: {reason}.", variables);
        }

        // The built-in binds -Uri as a System.Uri, whose ToString() unescapes; the twin gets the text as written.
        if (parameters["Uri"] is Uri uri)
        {
            parameters["Uri"] = uri.OriginalString;
        }

        if (dropIn.session is not null)
        {
            parameters["Session"] = dropIn.session;
        }

        return Result(route.Twin, parameters, null, variables);
    }

    /// <inheritdoc />
    public override string ToString() => IsOff ? "Off" : $"{Scope}: {SessionName}";

    /// <summary>Makes the drop-in reachable from its functions; forgotten when its runspace closes.</summary>
    internal void Register()
    {
        Active[Id] = this;
        if (Runspace is { } runspace && WatchedRunspaces.TryAdd(runspace, 0))
        {
            // A runspace of ForEach-Object -Parallel or Start-ThreadJob that enabled drop-in caching and closed
            // without Disable-HttpCache must not keep its drop-ins (and their sessions) alive.
            runspace.StateChanged += (_, e) =>
            {
                if (e.RunspaceStateInfo.State is RunspaceState.Closed or RunspaceState.Broken)
                {
                    WatchedRunspaces.TryRemove(runspace, out byte _);
                    foreach (var stale in Active.Values.Where(d => ReferenceEquals(d.Runspace, runspace)).ToArray())
                    {
                        Active.TryRemove(stale.Id, out DropIn? _);
                    }
                }
            };
        }
    }

    internal void Unregister() => Active.TryRemove(Id, out DropIn? _);

    internal static DropIn? Find(string id) => Active.TryGetValue(id, out var found) ? found : null;

    private static Hashtable Result(CommandInfo? command, Hashtable parameters, string? reason, string[] variables) => new(StringComparer.OrdinalIgnoreCase)
    {
        ["Command"] = command,
        ["Parameters"] = parameters,
        ["Reason"] = reason,
        ["Variables"] = variables,
    };
}

/// <summary>One built-in command a drop-in replaces, its cached twin, and the twin's parameter names.</summary>
internal sealed class DropInCommand
{
    private readonly HashSet<string> twinParameters;

    public DropInCommand(string name, CommandInfo twin, CommandInfo? original)
    {
        Name = name;
        Twin = twin;
        Original = original;
        // Read from the twin itself, so a parameter the twin gains is cached without a change here.
        twinParameters = new HashSet<string>(twin.Parameters.Keys, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Invoke-WebRequest or Invoke-RestMethod.</summary>
    public string Name { get; }

    /// <summary>HttpCache\Invoke-CachedWebRequest or HttpCache\Invoke-CachedRestMethod.</summary>
    public CommandInfo Twin { get; }

    /// <summary>Microsoft.PowerShell.Utility's cmdlet, or null in a host without it (then every call is cached).</summary>
    public CommandInfo? Original { get; }

    /// <summary>Why a call with these parameters cannot be cached, or null when it can.</summary>
    public string? PassThroughReason(IEnumerable<string> parameterNames)
    {
        var names = parameterNames.ToArray();
        var always = names.Where(DropIn.AlwaysPassThrough.ContainsKey).Select(n => DropIn.AlwaysPassThrough[n]).ToArray();
        if (always.Length > 0)
        {
            return string.Join("; ", always);
        }

        var missing = names.Where(n => !twinParameters.Contains(n)).Select(n => "-" + n).ToArray();
        return missing.Length == 0 ? null : $"{Twin.Name} has no {string.Join(", ", missing)}";
    }
}

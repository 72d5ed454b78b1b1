using System.Management.Automation;
using HttpCache.Engine;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;

namespace HttpCache.Commands;

/// <summary>
/// <para type="synopsis">Creates a cache session: a store (SQLite or memory) and the rules for what is cached.</para>
/// </summary>
[Cmdlet(VerbsCommon.New, "HttpCacheSession")]
[OutputType(typeof(CacheSession))]
public sealed class NewHttpCacheSessionCommand : PSCmdlet
{
    /// <summary>A name to tell sessions apart (default: "default").</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>Sqlite (a file, the default) or Memory (gone with the session).</summary>
    [Parameter]
    [ValidateSet("Sqlite", "Memory")]
    public string Backend { get; set; } = "Sqlite";

    /// <summary>The SQLite file, or a folder to hold http_cache.sqlite. Default: the user's cache folder.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>The lifetime of responses that give none of their own (default NeverExpire).</summary>
    [Parameter]
    [ExpirationTransformation]
    [ArgumentCompleter(typeof(ExpirationCompleter))]
    public object? ExpireAfter { get; set; }

    /// <summary>Honour the responses' Cache-Control and Expires headers; on by default, -CacheControl:$false turns it off.</summary>
    [Parameter]
    public SwitchParameter CacheControl { get; set; } = true;

    /// <summary>The request methods whose responses are cached (default GET, HEAD).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HttpMethodCompleter))]
    public string[]? AllowedMethods { get; set; }

    /// <summary>The status codes that are cached (default 200, 203, 300, 301, 308).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ValidateRange(100, 599)]
    public int[]? AllowedStatusCodes { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        // ValidateSet has checked the name (case-insensitively); the engine's enum has the same names.
        var backend = Enum.Parse<CacheBackend>(Backend, ignoreCase: true);
        string? path = null;
        if (Path is not null)
        {
            if (backend != CacheBackend.Sqlite)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new ArgumentException($"-Path applies to the Sqlite backend only; the {Backend} backend keeps no files."),
                    ErrorIds.InvalidSessionOption,
                    ErrorCategory.InvalidArgument,
                    Path));
            }

            // Relative to the PowerShell location, not the process's current directory.
            path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
            if (Path.EndsWith('/') || Path.EndsWith('\\'))
            {
                path += System.IO.Path.DirectorySeparatorChar;
            }
        }

        var settings = CacheSettings.Default with
        {
            ExpireAfter = ExpireAfter is Expiration expiration ? expiration : Expiration.NeverExpire,
            CacheControl = CacheControl.IsPresent,
        };
        if (AllowedMethods is not null)
        {
            var methods = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var method in AllowedMethods)
            {
                methods.Add(method.Trim().ToUpperInvariant());
            }

            settings = settings with { AllowedMethods = methods };
        }

        if (AllowedStatusCodes is not null)
        {
            settings = settings with { AllowedStatusCodes = new HashSet<int>(AllowedStatusCodes) };
        }

        HttpCacheSession engine;
        try
        {
            engine = HttpCacheSession.Create(new HttpCacheSessionOptions
            {
                Name = Name,
                Backend = backend,
                Path = path,
                Settings = settings,
            });
        }
        catch (CacheStoreException ex)
        {
            ThrowTerminatingError(Errors.StoreUnavailable(ex, path ?? CachePaths.DefaultSqlitePath));
            return;
        }
        catch (Exception ex) when (ex is ArgumentException or IOException or UnauthorizedAccessException or NotSupportedException)
        {
            // A path the platform rejects before the store sees it (invalid characters, too long…).
            ThrowTerminatingError(new ErrorRecord(ex, ErrorIds.CacheStoreUnavailable, ErrorCategory.InvalidArgument, path));
            return;
        }

        var session = new CacheSession(engine);
        SessionLifetime.Track(session);
        WriteObject(session);
    }
}

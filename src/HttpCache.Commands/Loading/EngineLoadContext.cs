using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace HttpCache.Commands.Loading;

/// <summary>
/// The module's own load context: HttpCache.Engine and every third-party assembly it needs load here,
/// from module/dependencies/, so other modules in the same pwsh process (other versions of
/// System.Text.Json, Microsoft.Extensions.*, Pipelines.Sockets.Unofficial…) neither break us nor are
/// broken by us. The pattern is the one in the PowerShell docs' "Resolving PowerShell module assembly
/// dependency conflicts" article.
/// </summary>
internal sealed class EngineLoadContext : AssemblyLoadContext
{
    /// <summary>The context's name. Tests find the context by it in <see cref="AssemblyLoadContext.All"/>.</summary>
    internal const string ContextName = "HttpCache";

    internal const string EngineAssemblyName = "HttpCache.Engine";

    private readonly string _dependencyDirectory;
    private readonly AssemblyDependencyResolver? _resolver;
    private readonly IReadOnlyList<string> _nativeProbeDirectories;

    internal EngineLoadContext(string dependencyDirectory)
        : base(ContextName, isCollectible: false)
    {
        _dependencyDirectory = dependencyDirectory;
        _resolver = CreateResolver(Path.Combine(dependencyDirectory, EngineAssemblyName + ".dll"));
        _nativeProbeDirectories = NativeRuntimeIds.Candidates()
            .Select(rid => Path.Combine(dependencyDirectory, "runtimes", rid, "native"))
            .ToArray();
    }

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        // Our copies first, whatever the host already has (design pitfall 2): a null answer sends the
        // request on to the default context, which is right only for what we do not ship (the
        // framework itself, and System.Management.Automation should the engine ever ask).
        var path = _resolver?.ResolveAssemblyToPath(assemblyName);
        if (path is null || !File.Exists(path))
        {
            path = assemblyName.Name is { Length: > 0 } name ? Path.Combine(_dependencyDirectory, name + ".dll") : null;
        }

        return path is not null && File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        // PowerShell's native fallback never looks inside a custom context, and NuGet's
        // runtimes/<rid>/native/ layout is not a plain folder probe: the deps.json resolver knows the
        // layout; the explicit probe covers a host without hostpolicy or a deps.json that lost an entry.
        var path = _resolver?.ResolveUnmanagedDllToPath(unmanagedDllName);
        if (path is null || !File.Exists(path))
        {
            path = ProbeNative(unmanagedDllName);
        }

        if (path is null)
        {
            return IntPtr.Zero; // the runtime's default probing gets its turn
        }

        return LoadUnmanagedDllFromPath(path);
    }

    private string? ProbeNative(string name)
    {
        foreach (var directory in _nativeProbeDirectories)
        {
            foreach (var fileName in NativeRuntimeIds.FileNameCandidates(name))
            {
                var candidate = Path.Combine(directory, fileName);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    private static AssemblyDependencyResolver? CreateResolver(string componentPath)
    {
        if (!File.Exists(componentPath))
        {
            return null;
        }

        try
        {
            return new AssemblyDependencyResolver(componentPath);
        }
        catch (InvalidOperationException)
        {
            // Thrown when the process has no hostpolicy (a custom native host, some single-file
            // hosts): the directory probes in Load and ProbeNative still work.
            return null;
        }
    }
}

/// <summary>The runtime identifiers whose runtimes/&lt;rid&gt;/native/ folders suit this process, best first.</summary>
internal static class NativeRuntimeIds
{
    internal static IReadOnlyList<string> Candidates()
    {
        var arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        var list = new List<string>();

        // The exact RID the runtime was built for comes first: on Alpine it is linux-musl-x64, on
        // a distro's source-built .NET it may be e.g. fedora.40-x64 (which NuGet packages never use,
        // so the portable RIDs below follow).
        list.Add(RuntimeInformation.RuntimeIdentifier);

        if (OperatingSystem.IsWindows())
        {
            list.Add("win-" + arch);
        }
        else if (OperatingSystem.IsMacOS())
        {
            list.Add("osx-" + arch);
        }
        else if (OperatingSystem.IsLinux())
        {
            if (IsMusl())
            {
                list.Add("linux-musl-" + arch);
            }

            list.Add("linux-" + arch);
        }

        return list.Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
    }

    /// <summary>The file names a DllImport name may have on disk on this OS (e_sqlite3 → libe_sqlite3.so…).</summary>
    internal static IEnumerable<string> FileNameCandidates(string name)
    {
        var fileName = Path.GetFileName(name);
        string[] suffixes = OperatingSystem.IsWindows() ? [".dll"]
            : OperatingSystem.IsMacOS() ? [".dylib"]
            : [".so"];

        yield return fileName;
        foreach (var suffix in suffixes)
        {
            if (!fileName.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                yield return fileName + suffix;
                if (!OperatingSystem.IsWindows() && !fileName.StartsWith("lib", StringComparison.Ordinal))
                {
                    yield return "lib" + fileName + suffix;
                }
            }
        }
    }

    private static bool IsMusl()
    {
        if (RuntimeInformation.RuntimeIdentifier.Contains("musl", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        try
        {
            // glibc systems have no musl loader; a musl system always has /lib/ld-musl-<arch>.so.1.
            return Directory.Exists("/lib") && Directory.EnumerateFiles("/lib", "ld-musl-*.so.1").Any();
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}

using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace HttpCache.Commands.Loading;

/// <summary>
/// Runs when PowerShell imports the module: from then on, a request of the default load context for
/// HttpCache.Engine (the cmdlets' compile-time references) is answered with the engine loaded in the
/// module's own <see cref="EngineLoadContext"/>. Public only because PowerShell looks for
/// <see cref="IModuleAssemblyInitializer"/> among the assembly's exported types.
/// </summary>
public sealed class ModuleAssemblyInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    private static readonly object Gate = new();
    private static int s_imports;
    private static bool s_registered;

    /// <summary>Registers the resolver. Idempotent: each runspace that imports the module calls it.</summary>
    public void OnImport()
    {
        lock (Gate)
        {
            s_imports++;
            if (!s_registered)
            {
                AssemblyLoadContext.Default.Resolving += ResolveEngine;
                s_registered = true;
            }
        }
    }

    /// <summary>Unregisters the resolver when the last importer removes the module.</summary>
    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        lock (Gate)
        {
            // Another runspace may still use the module: only the last removal unhooks. Assemblies
            // already resolved stay bound to the context, which is never unloaded.
            if (s_imports > 0)
            {
                s_imports--;
            }

            if (s_imports == 0 && s_registered)
            {
                AssemblyLoadContext.Default.Resolving -= ResolveEngine;
                s_registered = false;
            }
        }
    }

    private static Assembly? ResolveEngine(AssemblyLoadContext defaultContext, AssemblyName name)
    {
        // Only the engine: everything else the engine needs is resolved inside its own context, and
        // answering for e.g. System.Text.Json here would hand our copy to every module in the process.
        if (!string.Equals(name.Name, EngineLoadContext.EngineAssemblyName, StringComparison.Ordinal))
        {
            return null;
        }

        return ModuleLoadContext.Instance.LoadFromAssemblyName(name);
    }
}

/// <summary>The one <see cref="EngineLoadContext"/> of this process, rooted next to this assembly.</summary>
internal static class ModuleLoadContext
{
    private static readonly Lazy<EngineLoadContext> s_instance = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    internal static EngineLoadContext Instance => s_instance.Value;

    private static EngineLoadContext Create()
    {
        var moduleDirectory = Path.GetDirectoryName(typeof(ModuleLoadContext).Assembly.Location)
            ?? throw new InvalidOperationException("HttpCache.Commands.dll has no location on disk; the module must be imported from a folder.");
        var dependencies = Path.Combine(moduleDirectory, "dependencies");
        if (!File.Exists(Path.Combine(dependencies, EngineLoadContext.EngineAssemblyName + ".dll")))
        {
            // A clear message beats the FileNotFoundException the runtime would give for a broken install.
            throw new FileNotFoundException(
                $"HttpCache: '{EngineLoadContext.EngineAssemblyName}.dll' is missing from '{dependencies}'. Reinstall the module, or rebuild it with 'dotnet build'.",
                Path.Combine(dependencies, EngineLoadContext.EngineAssemblyName + ".dll"));
        }

        return new EngineLoadContext(dependencies);
    }
}

using System.Reflection;
using System.Runtime.CompilerServices;

namespace HttpCache.Commands.Loading;

/// <summary>
/// Compiles the per-call methods marked <see cref="MethodImplOptions.AggressiveOptimization"/> (this assembly's and
/// the engine's) on a background thread started at import. Such a method is compiled fully optimized at its first
/// call, on the caller's thread: tens of milliseconds for the request path's large methods, which a script's first
/// request would otherwise wait for. Compiled here while the script goes on (New-HttpCacheSession, its own code),
/// the first request finds most of them ready; one it reaches still compiling, it waits for, as it would have
/// compiled it itself. Nothing here may fail an import: a method that cannot be compiled is left to its first call.
/// </summary>
internal static class HotPathCompiler
{
    private static readonly object Gate = new();
    private static Task<HotPathCompilation>? s_run;

    /// <summary>The background compilation of this process, once an import started it.</summary>
    internal static Task<HotPathCompilation>? Run => s_run;

    /// <summary>Starts the compilation once per process; later imports (other runspaces) find it started.</summary>
    internal static void Start()
    {
        lock (Gate)
        {
            // A dedicated thread, not the pool's: a script's first request needs the pool's threads for its I/O.
            // Whatever it throws stays in the task: nothing here can fail the import or end the process.
            s_run ??= Task.Factory.StartNew(CompileAll, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
    }

    private static HotPathCompilation CompileAll()
    {
        var failed = new List<string>();
        // This assembly first: its methods are the first a request reaches.
        var compiled = CompileMarked(typeof(HotPathCompiler).Assembly, failed);
        try
        {
            compiled += CompileMarked(EngineAssembly(), failed);
        }
        catch (Exception ex) when (ex is IOException or BadImageFormatException)
        {
            // A broken install: the first cmdlet that needs the engine says so, with its own message.
            failed.Add($"{EngineLoadContext.EngineAssemblyName}: {ex.Message}");
        }

        return new HotPathCompilation(compiled, failed);
    }

    /// <summary>
    /// The engine, through the resolver OnImport registered, into the module's load context, as a first cmdlet call
    /// loads it. A method of its own, so that compiling <see cref="CompileAll"/> does not already need the engine.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Assembly EngineAssembly() => typeof(HttpCache.Engine.HttpCacheSession).Assembly;

    private static int CompileMarked(Assembly assembly, List<string> failed)
    {
        const BindingFlags Declared = BindingFlags.DeclaredOnly | BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic;
        Type[] types;
        try
        {
            types = assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException ex)
        {
            // Types that need a missing engine (a broken install): the others are still worth compiling.
            types = [.. ex.Types.OfType<Type>()];
            failed.Add($"{assembly.GetName().Name}: {ex.LoaderExceptions.FirstOrDefault()?.Message}");
        }

        var compiled = 0;
        foreach (var type in types)
        {
            if (type.ContainsGenericParameters)
            {
                continue;
            }

            // Constructors too (the answer object's is marked); never a type initializer, which runs on its own terms.
            foreach (var method in type.GetMethods(Declared).Concat<MethodBase>(type.GetConstructors(Declared & ~BindingFlags.Static)))
            {
                // An async method's attribute stays on its stub: the C# compiler does not copy it onto the state
                // machine's MoveNext, which keeps tiering like any other method.
                if ((method.MethodImplementationFlags & MethodImplAttributes.AggressiveOptimization) == 0
                    || method.IsAbstract || method.ContainsGenericParameters)
                {
                    continue;
                }

                try
                {
                    RuntimeHelpers.PrepareMethod(method.MethodHandle);
                    compiled++;
                }
                catch (Exception ex) when (ex is TypeLoadException or IOException or BadImageFormatException or MissingMemberException or InvalidOperationException or ArgumentException)
                {
                    // Left to its first call, which compiles it (or reports what is missing) as without this.
                    failed.Add($"{type.FullName}.{method.Name}: {ex.Message}");
                }
            }
        }

        return compiled;
    }
}

/// <summary>What the import's background compilation did: methods compiled, and those left to their first call (why).</summary>
internal sealed record HotPathCompilation(int Compiled, IReadOnlyList<string> Failed);

//! /proc/cpuinfo in Linux's x86 format (arch/x86/kernel/cpu/proc.c): one block per online
//! CPU. The identification and flags come from CPUID on the reading CPU: the machines
//! Damselfly runs on are symmetric (one CPU model for every vCPU), so each block repeats
//! them with that CPU's own number and APIC id.
use crate::lwkt::globaldata::{globaldata, ncpus};
use crate::lwkt::smp::online_mask;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::Ordering;
use raw_cpuid::native_cpuid::cpuid_count;

/// Which CPUID register a flag lives in.
#[derive(Clone, Copy)]
enum Reg {
    Ebx,
    Ecx,
    Edx,
}

/// (leaf, register, bit, Linux's name), in Linux's word order.
const FLAGS: &[(u32, Reg, u8, &str)] = &[
    // Leaf 1 EDX.
    (1, Reg::Edx, 0, "fpu"),
    (1, Reg::Edx, 1, "vme"),
    (1, Reg::Edx, 2, "de"),
    (1, Reg::Edx, 3, "pse"),
    (1, Reg::Edx, 4, "tsc"),
    (1, Reg::Edx, 5, "msr"),
    (1, Reg::Edx, 6, "pae"),
    (1, Reg::Edx, 7, "mce"),
    (1, Reg::Edx, 8, "cx8"),
    (1, Reg::Edx, 9, "apic"),
    (1, Reg::Edx, 11, "sep"),
    (1, Reg::Edx, 12, "mtrr"),
    (1, Reg::Edx, 13, "pge"),
    (1, Reg::Edx, 14, "mca"),
    (1, Reg::Edx, 15, "cmov"),
    (1, Reg::Edx, 16, "pat"),
    (1, Reg::Edx, 17, "pse36"),
    (1, Reg::Edx, 18, "pn"),
    (1, Reg::Edx, 19, "clflush"),
    (1, Reg::Edx, 21, "dts"),
    (1, Reg::Edx, 22, "acpi"),
    (1, Reg::Edx, 23, "mmx"),
    (1, Reg::Edx, 24, "fxsr"),
    (1, Reg::Edx, 25, "sse"),
    (1, Reg::Edx, 26, "sse2"),
    (1, Reg::Edx, 27, "ss"),
    (1, Reg::Edx, 28, "ht"),
    (1, Reg::Edx, 29, "tm"),
    (1, Reg::Edx, 30, "ia64"),
    (1, Reg::Edx, 31, "pbe"),
    // Leaf 0x80000001 EDX.
    (0x8000_0001, Reg::Edx, 11, "syscall"),
    (0x8000_0001, Reg::Edx, 20, "nx"),
    (0x8000_0001, Reg::Edx, 22, "mmxext"),
    (0x8000_0001, Reg::Edx, 25, "fxsr_opt"),
    (0x8000_0001, Reg::Edx, 26, "pdpe1gb"),
    (0x8000_0001, Reg::Edx, 27, "rdtscp"),
    (0x8000_0001, Reg::Edx, 29, "lm"),
    (0x8000_0001, Reg::Edx, 30, "3dnowext"),
    (0x8000_0001, Reg::Edx, 31, "3dnow"),
    // Leaf 1 ECX.
    (1, Reg::Ecx, 0, "pni"),
    (1, Reg::Ecx, 1, "pclmulqdq"),
    (1, Reg::Ecx, 2, "dtes64"),
    (1, Reg::Ecx, 3, "monitor"),
    (1, Reg::Ecx, 4, "ds_cpl"),
    (1, Reg::Ecx, 5, "vmx"),
    (1, Reg::Ecx, 6, "smx"),
    (1, Reg::Ecx, 7, "est"),
    (1, Reg::Ecx, 8, "tm2"),
    (1, Reg::Ecx, 9, "ssse3"),
    (1, Reg::Ecx, 10, "cid"),
    (1, Reg::Ecx, 11, "sdbg"),
    (1, Reg::Ecx, 12, "fma"),
    (1, Reg::Ecx, 13, "cx16"),
    (1, Reg::Ecx, 14, "xtpr"),
    (1, Reg::Ecx, 15, "pdcm"),
    (1, Reg::Ecx, 17, "pcid"),
    (1, Reg::Ecx, 18, "dca"),
    (1, Reg::Ecx, 19, "sse4_1"),
    (1, Reg::Ecx, 20, "sse4_2"),
    (1, Reg::Ecx, 21, "x2apic"),
    (1, Reg::Ecx, 22, "movbe"),
    (1, Reg::Ecx, 23, "popcnt"),
    (1, Reg::Ecx, 24, "tsc_deadline_timer"),
    (1, Reg::Ecx, 25, "aes"),
    (1, Reg::Ecx, 26, "xsave"),
    (1, Reg::Ecx, 28, "avx"),
    (1, Reg::Ecx, 29, "f16c"),
    (1, Reg::Ecx, 30, "rdrand"),
    (1, Reg::Ecx, 31, "hypervisor"),
    // Leaf 0x80000001 ECX.
    (0x8000_0001, Reg::Ecx, 0, "lahf_lm"),
    (0x8000_0001, Reg::Ecx, 1, "cmp_legacy"),
    (0x8000_0001, Reg::Ecx, 2, "svm"),
    (0x8000_0001, Reg::Ecx, 3, "extapic"),
    (0x8000_0001, Reg::Ecx, 4, "cr8_legacy"),
    (0x8000_0001, Reg::Ecx, 5, "abm"),
    (0x8000_0001, Reg::Ecx, 6, "sse4a"),
    (0x8000_0001, Reg::Ecx, 7, "misalignsse"),
    (0x8000_0001, Reg::Ecx, 8, "3dnowprefetch"),
    (0x8000_0001, Reg::Ecx, 9, "osvw"),
    (0x8000_0001, Reg::Ecx, 10, "ibs"),
    (0x8000_0001, Reg::Ecx, 11, "xop"),
    (0x8000_0001, Reg::Ecx, 12, "skinit"),
    (0x8000_0001, Reg::Ecx, 13, "wdt"),
    (0x8000_0001, Reg::Ecx, 15, "lwp"),
    (0x8000_0001, Reg::Ecx, 16, "fma4"),
    (0x8000_0001, Reg::Ecx, 17, "tce"),
    (0x8000_0001, Reg::Ecx, 21, "tbm"),
    (0x8000_0001, Reg::Ecx, 22, "topoext"),
    (0x8000_0001, Reg::Ecx, 23, "perfctr_core"),
    (0x8000_0001, Reg::Ecx, 24, "perfctr_nb"),
    (0x8000_0001, Reg::Ecx, 26, "bpext"),
    (0x8000_0001, Reg::Ecx, 27, "ptsc"),
    (0x8000_0001, Reg::Ecx, 28, "perfctr_llc"),
    (0x8000_0001, Reg::Ecx, 29, "mwaitx"),
    // Leaf 7.0 EBX.
    (7, Reg::Ebx, 0, "fsgsbase"),
    (7, Reg::Ebx, 1, "tsc_adjust"),
    (7, Reg::Ebx, 2, "sgx"),
    (7, Reg::Ebx, 3, "bmi1"),
    (7, Reg::Ebx, 4, "hle"),
    (7, Reg::Ebx, 5, "avx2"),
    (7, Reg::Ebx, 7, "smep"),
    (7, Reg::Ebx, 8, "bmi2"),
    (7, Reg::Ebx, 9, "erms"),
    (7, Reg::Ebx, 10, "invpcid"),
    (7, Reg::Ebx, 11, "rtm"),
    (7, Reg::Ebx, 12, "cqm"),
    (7, Reg::Ebx, 14, "mpx"),
    (7, Reg::Ebx, 15, "rdt_a"),
    (7, Reg::Ebx, 16, "avx512f"),
    (7, Reg::Ebx, 17, "avx512dq"),
    (7, Reg::Ebx, 18, "rdseed"),
    (7, Reg::Ebx, 19, "adx"),
    (7, Reg::Ebx, 20, "smap"),
    (7, Reg::Ebx, 21, "avx512ifma"),
    (7, Reg::Ebx, 23, "clflushopt"),
    (7, Reg::Ebx, 24, "clwb"),
    (7, Reg::Ebx, 25, "intel_pt"),
    (7, Reg::Ebx, 26, "avx512pf"),
    (7, Reg::Ebx, 27, "avx512er"),
    (7, Reg::Ebx, 28, "avx512cd"),
    (7, Reg::Ebx, 29, "sha_ni"),
    (7, Reg::Ebx, 30, "avx512bw"),
    (7, Reg::Ebx, 31, "avx512vl"),
    // Leaf 7.0 ECX.
    (7, Reg::Ecx, 1, "avx512vbmi"),
    (7, Reg::Ecx, 2, "umip"),
    (7, Reg::Ecx, 3, "pku"),
    (7, Reg::Ecx, 4, "ospke"),
    (7, Reg::Ecx, 5, "waitpkg"),
    (7, Reg::Ecx, 6, "avx512_vbmi2"),
    (7, Reg::Ecx, 8, "gfni"),
    (7, Reg::Ecx, 9, "vaes"),
    (7, Reg::Ecx, 10, "vpclmulqdq"),
    (7, Reg::Ecx, 11, "avx512_vnni"),
    (7, Reg::Ecx, 12, "avx512_bitalg"),
    (7, Reg::Ecx, 13, "tme"),
    (7, Reg::Ecx, 14, "avx512_vpopcntdq"),
    (7, Reg::Ecx, 16, "la57"),
    (7, Reg::Ecx, 22, "rdpid"),
    (7, Reg::Ecx, 25, "cldemote"),
    (7, Reg::Ecx, 27, "movdiri"),
    (7, Reg::Ecx, 28, "movdir64b"),
    // Leaf 7.0 EDX.
    (7, Reg::Edx, 2, "avx512_4vnniw"),
    (7, Reg::Edx, 3, "avx512_4fmaps"),
    (7, Reg::Edx, 4, "fsrm"),
    (7, Reg::Edx, 8, "avx512_vp2intersect"),
    (7, Reg::Edx, 10, "md_clear"),
    (7, Reg::Edx, 14, "serialize"),
    (7, Reg::Edx, 16, "tsxldtrk"),
    (7, Reg::Edx, 18, "pconfig"),
    (7, Reg::Edx, 22, "amx_bf16"),
    (7, Reg::Edx, 23, "avx512_fp16"),
    (7, Reg::Edx, 24, "amx_tile"),
    (7, Reg::Edx, 25, "amx_int8"),
    (7, Reg::Edx, 28, "flush_l1d"),
    (7, Reg::Edx, 29, "arch_capabilities"),
];

/// The space-separated flags of this CPU, for leaves it reports.
pub fn flags() -> String {
    let max_basic = cpuid_count(0, 0).eax;
    let max_ext = cpuid_count(0x8000_0000, 0).eax;
    let mut out: Vec<&str> = Vec::new();
    for &(leaf, reg, bit, name) in FLAGS {
        let present = if leaf >= 0x8000_0000 { leaf <= max_ext } else { leaf <= max_basic };
        if !present {
            continue;
        }
        let r = cpuid_count(leaf, 0);
        let word = match reg {
            Reg::Ebx => r.ebx,
            Reg::Ecx => r.ecx,
            Reg::Edx => r.edx,
        };
        if word & (1 << bit) != 0 {
            out.push(name);
        }
    }
    out.join(" ")
}

/// Registers as bytes, for the vendor and brand strings.
fn regs_bytes(regs: &[u32]) -> Vec<u8> {
    regs.iter().flat_map(|r| r.to_le_bytes()).collect()
}

fn text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).trim().into()
}

/// The whole file.
pub fn generate() -> String {
    let l0 = cpuid_count(0, 0);
    let vendor = text(&regs_bytes(&[l0.ebx, l0.edx, l0.ecx]));
    let max_ext = cpuid_count(0x8000_0000, 0).eax;
    let brand = if max_ext >= 0x8000_0004 {
        let mut regs = Vec::new();
        for leaf in 0x8000_0002..=0x8000_0004 {
            let r = cpuid_count(leaf, 0);
            regs.extend_from_slice(&[r.eax, r.ebx, r.ecx, r.edx]);
        }
        text(&regs_bytes(&regs))
    } else {
        String::from("unknown")
    };
    let l1 = cpuid_count(1, 0);
    // Linux's x86_family / x86_model.
    let base_family = (l1.eax >> 8) & 0xf;
    let family = if base_family == 0xf { base_family + ((l1.eax >> 20) & 0xff) } else { base_family };
    let mut model = (l1.eax >> 4) & 0xf;
    if family >= 6 {
        model += ((l1.eax >> 16) & 0xf) << 4;
    }
    let stepping = l1.eax & 0xf;
    let clflush = ((l1.ebx >> 8) & 0xff) * 8;
    let (phys_bits, virt_bits) = if max_ext >= 0x8000_0008 {
        let r = cpuid_count(0x8000_0008, 0);
        (r.eax & 0xff, (r.eax >> 8) & 0xff)
    } else {
        (36, 48)
    };
    let hz = crate::time::tsc::hz();
    let (mhz, khz_frac) = (hz / 1_000_000, hz / 1000 % 1000);
    // Linux's bogomips is loops_per_jiffy-based, which on x86 comes to twice the TSC MHz.
    let bogo = hz / 5000;
    let flags = flags();
    let mask = online_mask();
    let cpus: Vec<_> =
        (0..ncpus()).filter(|&c| c < 64 && mask & (1 << c) != 0).filter_map(globaldata).collect();
    let n = cpus.len();
    let mut s = String::new();
    for gd in cpus {
        let apic = gd.md.apic_id.load(Ordering::Relaxed);
        let _ = write!(
            s,
            "processor\t: {}\nvendor_id\t: {}\ncpu family\t: {}\nmodel\t\t: {}\nmodel name\t: {}\n\
             stepping\t: {}\ncpu MHz\t\t: {}.{:03}\nphysical id\t: 0\nsiblings\t: {}\ncore id\t\t: {}\n\
             cpu cores\t: {}\napicid\t\t: {}\ninitial apicid\t: {}\nfpu\t\t: yes\nfpu_exception\t: yes\n\
             cpuid level\t: {}\nwp\t\t: yes\nflags\t\t: {}\nbogomips\t: {}.{:02}\nclflush size\t: {}\n\
             cache_alignment\t: {}\naddress sizes\t: {} bits physical, {} bits virtual\npower management:\n\n",
            gd.cpuid,
            vendor,
            family,
            model,
            brand,
            stepping,
            mhz,
            khz_frac,
            n,
            gd.cpuid,
            n,
            apic,
            apic,
            l0.eax,
            flags,
            bogo / 100,
            bogo % 100,
            clflush,
            clflush,
            phys_bits,
            virt_bits,
        );
    }
    s
}

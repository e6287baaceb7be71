#!/bin/sh
# Prints an AVR image's flash and static RAM against its board's limits; fails past them.
# usage: avr_size.sh build/avr/<board>/<sketch>.elf   (FLASH_MAX / RAM_MAX override the board's)
elf=$1
board=$(basename "$(dirname "$elf")")
case $board in
  uno) flash_max=32256 ram_max=1536 ;;    # upload maximum; 2 KB of RAM less 512 B of stack
  nano) flash_max=30720 ram_max=1536 ;;   # the Nano's larger (old) bootloader
  mega) flash_max=253952 ram_max=7680 ;;  # 8 KB of RAM less 512 B of stack
  *) echo "avr_size.sh: unknown board $board" >&2; exit 2 ;;
esac
flash_max=${FLASH_MAX:-$flash_max}
ram_max=${RAM_MAX:-$ram_max}
avr-size -A "$elf" | awk -v name="$board/$(basename "$elf" .elf)" -v flash_max="$flash_max" -v ram_max="$ram_max" '
  $1 == ".text" { text = $2 } $1 == ".data" { data = $2 } $1 == ".bss" { bss = $2 } $1 == ".noinit" { noinit = $2 }
  END {
    flash = text + data; ram = data + bss + noinit
    printf "%-22s flash %6d of %6d B   static RAM %4d of %4d B (.data %d + .bss %d)\n", name, flash, flash_max, ram, ram_max, data, bss + noinit
    if (flash > flash_max || ram > ram_max) { printf "%s: over the board limit\n", name > "/dev/stderr"; exit 1 }
  }'
